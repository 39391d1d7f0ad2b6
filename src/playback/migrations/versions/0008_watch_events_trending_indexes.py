"""feeds: watch events by time (and by territory and time) for trending

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_watch_events_territory_created_at_video_id",
        "watch_events",
        ["territory", "created_at", "video_id"],
    )
    op.create_index(
        "ix_watch_events_created_at_video_id", "watch_events", ["created_at", "video_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_watch_events_created_at_video_id", table_name="watch_events")
    op.drop_index("ix_watch_events_territory_created_at_video_id", table_name="watch_events")
