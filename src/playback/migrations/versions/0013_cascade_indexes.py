"""indexes under every cascading foreign key that lacked one, so deleting a comment, a video
or an account (erasure) never reads a whole table

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_comments_parent_id", "comments", ["parent_id"]),
    ("ix_comment_likes_user_id", "comment_likes", ["user_id"]),
    ("ix_saves_video_id", "saves", ["video_id"]),
    ("ix_counter_deltas_target_id", "counter_deltas", ["target_id"]),
    ("ix_notifications_actor_id", "notifications", ["actor_id"]),
    ("ix_notifications_video_id", "notifications", ["video_id"]),
    ("ix_notifications_comment_id", "notifications", ["comment_id"]),
    ("ix_feed_impressions_video_id", "feed_impressions", ["video_id"]),
    ("ix_not_interested_video_id", "not_interested", ["video_id"]),
    ("ix_reports_reporter_id", "reports", ["reporter_id"]),
    ("ix_moderation_actions_moderator_id", "moderation_actions", ["moderator_id"]),
    ("ix_appeals_creator_id", "appeals", ["creator_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
