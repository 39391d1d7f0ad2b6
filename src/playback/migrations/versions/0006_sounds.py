"""sounds: catalog, licences, deliveries and uses; videos and watch events carry their sound

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Columns added to ``videos``: (table, column, type, referred table, server default).
# Plain ADD COLUMN, never batch mode: rebuilding ``videos`` on SQLite would drop its search
# triggers. SQLite takes a foreign key on a new column only inline.
NEW_COLUMNS: list[tuple[str, str, sa.types.TypeEngine, str | None, str | None]] = [
    ("videos", "sound_id", sa.Uuid(), "sounds", None),
    ("videos", "sound_offset_ms", sa.Integer(), None, "0"),
    ("videos", "sound_volume", sa.Integer(), None, "100"),
    ("videos", "clip_volume", sa.Integer(), None, "0"),
    ("videos", "sound_muted", sa.Boolean(), None, "false"),
    ("videos", "muted_video_key", sa.String(300), None, None),
    ("videos", "remix_kind", sa.String(8), None, None),
    ("videos", "remix_of_id", sa.Uuid(), "videos", None),
    ("videos", "remix_start_ms", sa.Integer(), None, "0"),
    ("videos", "remix_ms", sa.Integer(), None, "0"),
]


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]


def _fk(table: str, column: str, refers_to: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{refers_to}.id"], name=f"fk_{table}_{column}_{refers_to}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("party_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_labels"),
        sa.UniqueConstraint("party_id", name="uq_labels_party_id"),
    )
    op.create_table(
        "ddex_deliveries",
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("sender_party_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("message_created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("track_count", sa.Integer(), nullable=False),
        *_timestamps(),
        _fk("ddex_deliveries", "label_id", "labels", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ddex_deliveries"),
        sa.UniqueConstraint(
            "sender_party_id",
            "message_id",
            name="uq_ddex_deliveries_sender_party_id_message_id",
        ),
    )
    op.create_table(
        "sounds",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("artist", sa.String(300), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("audio_key", sa.String(300), nullable=False),
        sa.Column("cover_key", sa.String(300), nullable=True),
        sa.Column("credit", sa.Text(), nullable=False),
        sa.Column("isrc", sa.String(12), nullable=True),
        sa.Column("label_id", sa.Uuid(), nullable=True),
        sa.Column("release_title", sa.String(300), nullable=True),
        sa.Column("icpn", sa.String(14), nullable=True),
        sa.Column("origin_video_id", sa.Uuid(), nullable=True),
        sa.Column("origin_user_id", sa.Uuid(), nullable=True),
        sa.Column("reuse_allowed", sa.Boolean(), nullable=False),
        *_timestamps(),
        _fk("sounds", "label_id", "labels", "CASCADE"),
        _fk("sounds", "origin_user_id", "users", "SET NULL"),
        _fk("sounds", "origin_video_id", "videos", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sounds"),
        sa.UniqueConstraint("isrc", name="uq_sounds_isrc"),
    )
    op.create_index("ix_sounds_kind_id", "sounds", ["kind", "id"])
    op.create_index("ix_sounds_label_id", "sounds", ["label_id"])
    op.create_index("ix_sounds_origin_user_id", "sounds", ["origin_user_id"])
    op.create_index("ix_sounds_origin_video_id", "sounds", ["origin_video_id"])
    op.create_table(
        "licences",
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("sound_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.Column("territories", sa.Text(), nullable=False),
        sa.Column("excluded_territories", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("max_clip_ms", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(timezone=True), nullable=True),
        *_timestamps(),
        _fk("licences", "delivery_id", "ddex_deliveries", "SET NULL"),
        _fk("licences", "label_id", "labels", "CASCADE"),
        _fk("licences", "sound_id", "sounds", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_licences"),
    )
    op.create_index("ix_licences_delivery_id", "licences", ["delivery_id"])
    op.create_index("ix_licences_sound_id_starts_on", "licences", ["sound_id", "starts_on"])
    op.create_table(
        "sound_uses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sound_id", sa.Uuid(), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=True),
        sa.Column("territory", sa.String(2), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        _fk("sound_uses", "sound_id", "sounds", "CASCADE"),
        _fk("sound_uses", "video_id", "videos", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sound_uses"),
        sa.UniqueConstraint("video_id", name="uq_sound_uses_video_id"),
    )
    op.create_index("ix_sound_uses_created_at", "sound_uses", ["created_at"])
    op.create_index("ix_sound_uses_sound_id_created_at", "sound_uses", ["sound_id", "created_at"])

    bind = op.get_bind()
    for table, name, kind, refers_to, default in NEW_COLUMNS:
        server_default = sa.false() if default == "false" else default
        if refers_to is None:
            column = sa.Column(name, kind, server_default=server_default, nullable=default is None)
            op.add_column(table, column)
            continue
        fk = f"fk_{table}_{name}_{refers_to}"
        if bind.dialect.name == "sqlite":
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {name} CHAR(32) "
                f"CONSTRAINT {fk} REFERENCES {refers_to} (id) ON DELETE SET NULL"
            )
        else:
            op.add_column(table, sa.Column(name, kind, nullable=True))
            op.create_foreign_key(fk, table, refers_to, [name], ["id"], ondelete="SET NULL")
    op.create_index("ix_videos_remix_of_id", "videos", ["remix_of_id"])
    op.create_index(
        "ix_videos_sound_id_status_view_count", "videos", ["sound_id", "status", "view_count"]
    )
    # ``watch_events`` has no triggers, so it may be rebuilt (SQLite): it gains its sound, and a
    # deleted video's events now stay, without the video.
    with op.batch_alter_table("watch_events") as batch_op:
        batch_op.add_column(sa.Column("sound_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("sound_ms", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("territory", sa.String(2), server_default="ZZ", nullable=False)
        )
        batch_op.create_foreign_key(
            "fk_watch_events_sound_id_sounds", "sounds", ["sound_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.alter_column("video_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.drop_constraint("fk_watch_events_video_id_videos", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_watch_events_video_id_videos", "videos", ["video_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_watch_events_sound_id_created_at", ["sound_id", "created_at"])


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DELETE FROM watch_events WHERE video_id IS NULL")
    with op.batch_alter_table("watch_events") as batch_op:
        batch_op.drop_index("ix_watch_events_sound_id_created_at")
        batch_op.drop_constraint("fk_watch_events_video_id_videos", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_watch_events_video_id_videos", "videos", ["video_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.alter_column("video_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_constraint("fk_watch_events_sound_id_sounds", type_="foreignkey")
        for name in ("territory", "sound_ms", "sound_id"):
            batch_op.drop_column(name)
    op.drop_index("ix_videos_sound_id_status_view_count", table_name="videos")
    op.drop_index("ix_videos_remix_of_id", table_name="videos")
    # SQLite cannot drop a column with a foreign key without rebuilding the table; the rebuild
    # loses the triggers of ``videos``, so they are read first and made again after.
    triggers: list[str] = []
    if bind.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'videos'"
        triggers = list(bind.execute(sa.text(query)).scalars())
    with op.batch_alter_table("videos") as batch_op:
        # A column's foreign key goes with it (both databases).
        for _table, name, _kind, _refers_to, _default in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
    for sql in triggers:
        op.execute(sql)
    for table in ("sound_uses", "licences", "sounds", "ddex_deliveries", "labels"):
        op.drop_table(table)
