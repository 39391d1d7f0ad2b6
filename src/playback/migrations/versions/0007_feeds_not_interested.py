"""feeds: "not interested" on a video

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "not_interested",
        sa.Column("viewer_key", sa.String(64), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videos.id"],
            name="fk_not_interested_video_id_videos",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("viewer_key", "video_id", name="pk_not_interested"),
    )
    op.create_index(
        "ix_not_interested_viewer_key_created_at", "not_interested", ["viewer_key", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("not_interested")
