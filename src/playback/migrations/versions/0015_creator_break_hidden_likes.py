"""accounts: a creator's break (since, last day, message) and hidden like counts

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("break_since", UTCDateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("break_until", sa.Date(), nullable=True))
    op.add_column("users", sa.Column("break_message", sa.String(80), nullable=True))
    op.add_column(
        "users",
        sa.Column("hide_like_counts", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("hide_like_counts")
        batch.drop_column("break_message")
        batch.drop_column("break_until")
        batch.drop_column("break_since")
