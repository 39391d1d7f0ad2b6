"""feeds: a viewer's watch events newest first (the For You session signals)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_watch_events_viewer_key_id", "watch_events", ["viewer_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_watch_events_viewer_key_id", table_name="watch_events")
