"""feed indexes: newest ready videos, a creator's grid, a viewer's watched videos

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain CREATE INDEX (no batch mode): rebuilding videos would drop the search triggers.
    op.create_index("ix_videos_status_id", "videos", ["status", "id"])
    op.create_index("ix_videos_creator_id_status_id", "videos", ["creator_id", "status", "id"])
    op.drop_index("ix_videos_creator_id_id", table_name="videos")
    op.create_index(
        "ix_watch_events_viewer_key_video_id", "watch_events", ["viewer_key", "video_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_watch_events_viewer_key_video_id", table_name="watch_events")
    op.create_index("ix_videos_creator_id_id", "videos", ["creator_id", "id"])
    op.drop_index("ix_videos_creator_id_status_id", table_name="videos")
    op.drop_index("ix_videos_status_id", table_name="videos")
