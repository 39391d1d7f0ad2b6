"""search: caption full-text index (FTS5 on SQLite, GIN on PostgreSQL), hashtag prefix index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:00:00.000000

None of these objects is in the models (``feeds.search.include_name`` hides them from
autogenerate). On SQLite the index is an FTS5 table kept in step by triggers on ``videos``: a later
migration that rebuilds ``videos`` in batch mode drops those triggers with the old table, and must
create them again (and call ``feeds.search.do_rebuild_index``); tests/test_search.py checks they
exist at head.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_UP = [
    # The FTS5 rowid of a caption is a doc_id here, not the implicit rowid of ``videos`` (which a
    # VACUUM or a batch-mode table rebuild may renumber).
    """CREATE TABLE search_videos_docs (
        doc_id INTEGER PRIMARY KEY,
        video_id CHAR(32) NOT NULL UNIQUE
    )""",
    "CREATE VIRTUAL TABLE search_videos USING fts5(caption, tokenize = 'unicode61 remove_diacritics 0')",
    """CREATE TRIGGER search_videos_insert AFTER INSERT ON videos BEGIN
        INSERT INTO search_videos_docs (video_id) VALUES (new.id);
        INSERT INTO search_videos (rowid, caption) VALUES (last_insert_rowid(), new.caption);
    END""",
    """CREATE TRIGGER search_videos_update AFTER UPDATE OF caption ON videos BEGIN
        UPDATE search_videos SET caption = new.caption
        WHERE rowid = (SELECT doc_id FROM search_videos_docs WHERE video_id = old.id);
    END""",
    """CREATE TRIGGER search_videos_delete AFTER DELETE ON videos BEGIN
        DELETE FROM search_videos
        WHERE rowid = (SELECT doc_id FROM search_videos_docs WHERE video_id = old.id);
        DELETE FROM search_videos_docs WHERE video_id = old.id;
    END""",
    "INSERT INTO search_videos_docs (video_id) SELECT id FROM videos",
    """INSERT INTO search_videos (rowid, caption)
        SELECT d.doc_id, v.caption FROM search_videos_docs AS d JOIN videos AS v ON v.id = d.video_id""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_videos_delete",
    "DROP TRIGGER IF EXISTS search_videos_update",
    "DROP TRIGGER IF EXISTS search_videos_insert",
    "DROP TABLE IF EXISTS search_videos",
    "DROP TABLE IF EXISTS search_videos_docs",
]
POSTGRESQL_UP = [
    # The same expression, with the config as a literal, as feeds.search queries with.
    "CREATE INDEX ix_videos_caption_fts ON videos USING gin (to_tsvector('simple'::regconfig, caption))",
    # LIKE 'prefix%' can use a btree index only with pattern ops unless the collation is C.
    "CREATE INDEX ix_hashtags_name_prefix ON hashtags (name varchar_pattern_ops)",
]
POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_hashtags_name_prefix",
    "DROP INDEX IF EXISTS ix_videos_caption_fts",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(POSTGRESQL_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(POSTGRESQL_DOWN)
