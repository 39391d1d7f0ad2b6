"""safety: reports, the moderators' audit log, appeals; restricted videos

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _entity() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    # Never in batch mode: the videos table carries the search triggers.
    op.add_column(
        "videos", sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "reports",
        *_entity(),
        sa.Column("reporter_id", sa.Uuid(), nullable=True),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name="fk_reports_reporter_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_status_created_at", "reports", ["status", "created_at"])
    op.create_index(
        "ix_reports_target_kind_target_id_status",
        "reports",
        ["target_kind", "target_id", "status"],
    )
    op.create_table(
        "moderation_actions",
        *_entity(),
        sa.Column("moderator_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["users.id"],
            name="fk_moderation_actions_moderator_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_actions"),
    )
    op.create_index("ix_moderation_actions_target_id", "moderation_actions", ["target_id"])
    op.create_table(
        "appeals",
        *_entity(),
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name="fk_appeals_video_id_videos", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name="fk_appeals_creator_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appeals"),
        sa.UniqueConstraint("video_id", name="uq_appeals_video_id"),
    )
    op.create_index("ix_appeals_status_created_at", "appeals", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_table("moderation_actions")
    op.drop_table("reports")
    op.drop_column("videos", "restricted")
