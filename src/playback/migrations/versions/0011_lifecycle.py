"""lifecycle: an account's status (active, deactivated, erasing), when it is erased; data exports

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("status", sa.String(12), server_default="active", nullable=False)
    )
    op.add_column("users", sa.Column("erase_after", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_users_status_erase_after", "users", ["status", "erase_after"])
    op.create_table(
        "data_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("ready_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_data_exports_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_data_exports"),
    )
    op.create_index("ix_data_exports_user_id_created_at", "data_exports", ["user_id", "created_at"])
    op.create_index("ix_data_exports_expires_at", "data_exports", ["expires_at"])


def downgrade() -> None:
    op.drop_table("data_exports")
    op.drop_index("ix_users_status_erase_after", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erase_after")
        batch.drop_column("status")
