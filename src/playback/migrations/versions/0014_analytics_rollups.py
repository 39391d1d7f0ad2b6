"""analytics: hourly and daily rollups of watch events, viewer numbering, counts by day,
trends and search terms; the video a follow came from

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audience_members",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("viewer_key", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "viewer_key", name=op.f("pk_audience_members")),
    )
    with op.batch_alter_table("audience_members", schema=None) as batch_op:
        batch_op.create_index("ix_audience_members_viewer_key", ["viewer_key"], unique=False)
        batch_op.create_index("ix_audience_members_scope_id_idx", ["scope_id", "idx"], unique=True)

    op.create_table(
        "count_days",
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("target_id", "day", "kind", name=op.f("pk_count_days")),
    )
    op.create_table(
        "platform_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("active", sa.LargeBinary(), nullable=False),
        sa.Column("active_count", sa.Integer(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_platform_days")),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "search_days",
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("results", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("term", "day", name=op.f("pk_search_days")),
    )
    with op.batch_alter_table("search_days", schema=None) as batch_op:
        batch_op.create_index("ix_search_days_day", ["day"], unique=False)

    op.create_table(
        "trend_days",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key_id", "territory", "day", name=op.f("pk_trend_days")),
    )
    with op.batch_alter_table("trend_days", schema=None) as batch_op:
        batch_op.create_index("ix_trend_days_day", ["day"], unique=False)

    op.create_table(
        "creator_audience_days",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_creator_audience_days_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "creator_id", "day", "dimension", "key", name=op.f("pk_creator_audience_days")
        ),
    )
    op.create_table(
        "creator_days",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("viewers", sa.LargeBinary(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_creator_days_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "day", name=op.f("pk_creator_days")),
    )
    op.create_table(
        "creator_hours",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("hour", UTCDateTime(timezone=True), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_creator_hours_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "hour", name=op.f("pk_creator_hours")),
    )
    op.create_table(
        "video_days",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("capped_ms", sa.BigInteger(), nullable=False),
        sa.Column("completes", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.LargeBinary(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_video_days_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videos.id"],
            name=op.f("fk_video_days_video_id_videos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("video_id", "day", name=op.f("pk_video_days")),
    )
    with op.batch_alter_table("video_days", schema=None) as batch_op:
        batch_op.create_index("ix_video_days_creator_id_day", ["creator_id", "day"], unique=False)

    op.create_table(
        "video_hours",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("hour", UTCDateTime(timezone=True), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videos.id"],
            name=op.f("fk_video_hours_video_id_videos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("video_id", "hour", name=op.f("pk_video_hours")),
    )
    op.create_table(
        "video_source_days",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videos.id"],
            name=op.f("fk_video_source_days_video_id_videos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("video_id", "day", "source", name=op.f("pk_video_source_days")),
    )
    fk = "fk_follows_via_video_id_videos"
    if op.get_bind().dialect.name == "sqlite":  # an inline key: no rebuild of the table
        op.execute(
            f"ALTER TABLE follows ADD COLUMN via_video_id CHAR(32) "
            f"CONSTRAINT {fk} REFERENCES videos (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("follows", sa.Column("via_video_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            fk, "follows", "videos", ["via_video_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_follows_via_video_id", "follows", ["via_video_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Viewer sets are read by the megabyte and barely compress: kept out of line but
        # uncompressed, so reading them costs no decompression.
        op.execute("ALTER TABLE creator_days ALTER COLUMN viewers SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE platform_days ALTER COLUMN active SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_index("ix_follows_via_video_id", "follows")
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("via_video_id")
    op.drop_table("video_source_days")
    op.drop_table("video_hours")
    with op.batch_alter_table("video_days", schema=None) as batch_op:
        batch_op.drop_index("ix_video_days_creator_id_day")

    op.drop_table("video_days")
    op.drop_table("creator_hours")
    op.drop_table("creator_days")
    op.drop_table("creator_audience_days")
    with op.batch_alter_table("trend_days", schema=None) as batch_op:
        batch_op.drop_index("ix_trend_days_day")

    op.drop_table("trend_days")
    with op.batch_alter_table("search_days", schema=None) as batch_op:
        batch_op.drop_index("ix_search_days_day")

    op.drop_table("search_days")
    op.drop_table("rollup_state")
    op.drop_table("platform_days")
    op.drop_table("count_days")
    with op.batch_alter_table("audience_members", schema=None) as batch_op:
        batch_op.drop_index("ix_audience_members_scope_id_idx")
        batch_op.drop_index("ix_audience_members_viewer_key")

    op.drop_table("audience_members")
