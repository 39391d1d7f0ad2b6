"""Search: accounts, hashtags and videos, behind one repository with a SQLite and a PostgreSQL
full-text implementation.

Captions are indexed without any hook in the media code. On PostgreSQL a GIN expression index on
``to_tsvector('simple', caption)`` covers the videos table itself. On SQLite an FTS5 table
(``search_videos``) holds a copy of every caption, kept in step by triggers on ``videos`` that
migration 0004 creates; ``search_videos_docs`` maps its integer rowids to video ids, so the index
never depends on the implicit rowid of ``videos`` (which VACUUM or a batch-mode table rebuild may
renumber). Both are invisible to the models; :func:`include_name` hides them from autogenerate and
from the drift test.

User text is never query syntax: the query is split on whitespace, each word is bound as a
parameter (PostgreSQL: ``plainto_tsquery``) or quoted as an FTS5 string, and the words are OR-ed so
that relevance (bm25 / ts_rank) puts captions matching more of them first.
"""

from __future__ import annotations

import functools
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from playback.accounts import age_policy
from playback.accounts.models import ACTIVE, User
from playback.accounts.service import BANNED
from playback.engagement.models import CounterDelta
from playback.errors import Invalid, NotFound
from playback.kit.text import normalize_hashtag
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.social.models import Follow
from playback.social.service import blocked_select

QUERY_MAX = 100
MAX_TERMS = 16
MAX_RESULTS = 500  # deepest a ranked search pages (an offset lives in its cursor)
TYPES = ("videos", "accounts", "hashtags")

# Database objects created by migration 0004 that the models do not describe.
SQLITE_FTS_TABLE = "search_videos"
SQLITE_DOCS_TABLE = "search_videos_docs"
SQLITE_TRIGGERS = ("search_videos_insert", "search_videos_update", "search_videos_delete")
_FTS5_SHADOW_SUFFIXES = ("data", "idx", "content", "docsize", "config")
SEARCH_TABLES = frozenset(
    {SQLITE_FTS_TABLE, SQLITE_DOCS_TABLE}
    | {f"{SQLITE_FTS_TABLE}_{suffix}" for suffix in _FTS5_SHADOW_SUFFIXES}
)
PG_CAPTION_INDEX = "ix_videos_caption_fts"
PG_HASHTAG_PREFIX_INDEX = "ix_hashtags_name_prefix"
SEARCH_INDEXES = frozenset({PG_CAPTION_INDEX, PG_HASHTAG_PREFIX_INDEX})


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's ``include_name``: leave the search index objects out of model comparisons."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


# --- checks -------------------------------------------------------------------------------


def check_query(text: str) -> str:
    """The query as searched: NFC (as captions are stored), control characters read as spaces
    (no caption holds one, and PostgreSQL refuses NUL), trimmed, 1 to 100 characters."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise Invalid("Type something to search for.", code="empty_query")
    if len(text) > QUERY_MAX:
        raise Invalid(f"A search has at most {QUERY_MAX} characters.", code="query_too_long")
    return text


def query_terms(text: str) -> list[str]:
    """Distinct whitespace-separated words that contain a letter or digit (``"``, ``*`` or ``-``
    alone can match nothing), case-folded, at most ``MAX_TERMS``."""
    seen: dict[str, None] = {}
    for word in text.split():
        if any(ch.isalnum() for ch in word):
            seen.setdefault(word.casefold(), None)
    return list(seen)[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that is only strings: each term double-quoted (inner quotes
    doubled), so ``OR``, ``NEAR(``, ``*``, ``-`` or ``:`` in user text are just text."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


# --- the repository -----------------------------------------------------------------------


class TextIndex(Protocol):
    """What differs between the databases: caption matching and prefix matching."""

    def caption_matches(self, terms: list[str]) -> sa.Subquery:
        """Videos whose caption matches any term: columns ``video_id`` and ``score`` (lower is
        more relevant)."""
        ...

    def prefix(self, column: InstrumentedAttribute[str], text: str) -> sa.ColumnElement[bool]:
        """``column`` starts with ``text`` (case-sensitive), in a form the column's index serves."""
        ...


class SqliteTextIndex:
    def caption_matches(self, terms: list[str]) -> sa.Subquery:
        stmt = sa.text(
            f"SELECT d.video_id AS video_id, bm25({SQLITE_FTS_TABLE}) AS score "  # noqa: S608 - constants
            f"FROM {SQLITE_FTS_TABLE} JOIN {SQLITE_DOCS_TABLE} AS d "
            f"ON d.doc_id = {SQLITE_FTS_TABLE}.rowid "
            f"WHERE {SQLITE_FTS_TABLE} MATCH :fts_query"
        ).bindparams(fts_query=fts5_query(terms))
        return stmt.columns(video_id=sa.Uuid(), score=sa.Float()).subquery("matches")

    def prefix(self, column: InstrumentedAttribute[str], text: str) -> sa.ColumnElement[bool]:
        # SQLite's LIKE is case-insensitive and so cannot use a BINARY index; a range can.
        return sa.and_(column >= text, column < text + "\U0010ffff")


class PostgresTextIndex:
    # The literal (not a bound parameter) makes the expression identical to the GIN index's.
    CONFIG: sa.ColumnElement[Any] = sa.literal_column("'simple'::regconfig")

    def caption_matches(self, terms: list[str]) -> sa.Subquery:
        vector = sa.func.to_tsvector(self.CONFIG, Video.caption)
        queries: list[sa.ColumnElement[Any]] = [
            sa.func.plainto_tsquery(self.CONFIG, t) for t in terms
        ]
        query = functools.reduce(lambda a, b: a.op("||")(b), queries)  # tsquery OR
        return (
            sa.select(Video.id.label("video_id"), (-sa.func.ts_rank(vector, query)).label("score"))
            .where(vector.op("@@")(query))
            .subquery("matches")
        )

    def prefix(self, column: InstrumentedAttribute[str], text: str) -> sa.ColumnElement[bool]:
        escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
        return column.like(escaped + "%", escape="/")  # served by a varchar_pattern_ops index


def text_index(db: Session) -> TextIndex:
    if db.get_bind().dialect.name == "postgresql":
        return PostgresTextIndex()
    return SqliteTextIndex()


# --- who sees what ------------------------------------------------------------------------


def visible_videos(viewer: User | None) -> sa.ColumnElement[bool]:
    """``media.service.can_view`` for ready videos, as SQL over ``Video`` joined to its creator
    (``User``): your own; otherwise not private, not across a block, and public videos of public
    accounts or anything non-private of accounts you follow (approved)."""
    ready = Video.status == "ready"
    public = sa.and_(Video.visibility == "public", sa.not_(User.private))
    if viewer is None:
        return sa.and_(ready, public)
    follows = (
        sa.select(sa.literal(True))
        .where(
            Follow.follower_id == viewer.id,
            Follow.followee_id == Video.creator_id,
            Follow.status == "accepted",
        )
        .exists()
    )
    others = sa.and_(
        Video.visibility != "private",
        Video.creator_id.not_in(blocked_select(viewer.id)),
        sa.or_(public, follows),
    )
    return sa.and_(ready, sa.or_(Video.creator_id == viewer.id, others))


def _publicly_visible() -> sa.ColumnElement[bool]:
    """The videos a hashtag's counts count: ready, public, of public accounts (the same for
    everyone, so nothing private leaks through a number)."""
    return sa.and_(Video.status == "ready", Video.visibility == "public", sa.not_(User.private))


# --- accounts -----------------------------------------------------------------------------


def list_accounts(
    db: Session, viewer: User | None, text: str, *, offset: int, limit: int
) -> list[User]:
    """Accounts whose handle starts with the query (an ``@`` is optional) or whose display name
    contains it: the exact handle first, then handle prefixes, then display names; more
    followers first within each. Accounts blocked either way with the viewer are left out."""
    handle = text.removeprefix("@").lower()
    exact = User.handle == handle
    by_handle = text_index(db).prefix(User.handle, handle)
    by_name = sa.func.lower(User.display_name).contains(text.lower(), autoescape=True)
    query = sa.select(User).where(
        sa.or_(by_handle, by_name) if handle else by_name,
        User.status == ACTIVE,
        User.role != BANNED,
    )
    if viewer is not None:
        query = query.where(User.id.not_in(blocked_select(viewer.id)))
    # 13–15-year-olds are never suggested to strangers: only their approved followers (and
    # they themselves) find them here.
    shown = User.birthdate <= age_policy.born_by(16)
    if viewer is not None:
        followed = sa.select(Follow.followee_id).where(
            Follow.follower_id == viewer.id, Follow.status == "accepted"
        )
        shown = sa.or_(shown, User.id == viewer.id, User.id.in_(followed))
    query = query.where(shown)
    tier = sa.case((exact, 0), (by_handle, 1), else_=2)
    query = query.order_by(tier, User.follower_count.desc(), User.handle)
    return list(db.scalars(query.offset(offset).limit(limit)))


# --- hashtags -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HashtagStats:
    id: uuid.UUID
    name: str
    video_count: int  # ready public videos of public accounts
    view_count: int  # their views: cached counts plus pending deltas


def check_hashtag_name(text: str) -> str:
    return normalize_hashtag(text.strip().removeprefix("#"))


def _pending_views(db: Session, tag_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Views not yet folded into ``videos.view_count``, per hashtag."""
    if not tag_ids:
        return {}
    rows = db.execute(
        sa.select(VideoHashtag.hashtag_id, sa.func.sum(CounterDelta.delta))
        .join(Video, Video.id == VideoHashtag.video_id)
        .join(User, User.id == Video.creator_id)
        .join(
            CounterDelta,
            sa.and_(CounterDelta.kind == "video_views", CounterDelta.target_id == Video.id),
        )
        .where(VideoHashtag.hashtag_id.in_(tag_ids), _publicly_visible())
        .group_by(VideoHashtag.hashtag_id)
    )
    return {tag_id: int(total or 0) for tag_id, total in rows}


def _hashtag_stats(where: sa.ColumnElement[bool]) -> sa.Select[uuid.UUID, str, int, int]:
    video_count = sa.func.count(Video.id)
    return (
        sa.select(
            Hashtag.id,
            Hashtag.name,
            video_count.label("video_count"),
            sa.func.coalesce(sa.func.sum(Video.view_count), 0).label("view_count"),
        )
        .join(VideoHashtag, VideoHashtag.hashtag_id == Hashtag.id)
        .join(Video, Video.id == VideoHashtag.video_id)
        .join(User, User.id == Video.creator_id)
        .where(where, _publicly_visible())
        .group_by(Hashtag.id, Hashtag.name)
    )


def _with_pending(db: Session, rows: list[Any]) -> list[HashtagStats]:
    pending = _pending_views(db, [row.id for row in rows])
    return [
        HashtagStats(
            id=row.id,
            name=row.name,
            video_count=int(row.video_count),
            view_count=int(row.view_count) + pending.get(row.id, 0),
        )
        for row in rows
    ]


def list_hashtags(db: Session, text: str, *, offset: int, limit: int) -> list[HashtagStats]:
    """Hashtags starting with the query (``#`` optional) that have public videos, the most used
    first."""
    name = check_hashtag_name(text)
    if not name:
        return []
    query = _hashtag_stats(text_index(db).prefix(Hashtag.name, name))
    query = query.order_by(sa.desc("video_count"), Hashtag.name).offset(offset).limit(limit)
    return _with_pending(db, list(db.execute(query)))


def access_hashtag(db: Session, name: str, viewer: User | None) -> HashtagStats:
    """A hashtag's page, or ``hashtag_not_found`` when no video the viewer may see carries it
    (so a tag used only in private videos stays unknown)."""
    tag = db.scalar(sa.select(Hashtag).where(Hashtag.name == check_hashtag_name(name)))
    if tag is None:
        raise NotFound("hashtag")
    seen = db.scalar(
        sa.select(sa.literal(True))
        .select_from(VideoHashtag)
        .join(Video, Video.id == VideoHashtag.video_id)
        .join(User, User.id == Video.creator_id)
        .where(VideoHashtag.hashtag_id == tag.id, visible_videos(viewer))
        .limit(1)
    )
    if seen is None:
        raise NotFound("hashtag")
    rows = list(db.execute(_hashtag_stats(Hashtag.id == tag.id)))
    if not rows:  # only followers-only videos, or the viewer's own: nothing public to count
        return HashtagStats(id=tag.id, name=tag.name, video_count=0, view_count=0)
    return _with_pending(db, rows)[0]


def list_hashtag_videos(
    db: Session, tag: HashtagStats, viewer: User | None, *, before: uuid.UUID | None, limit: int
) -> list[tuple[Video, User]]:
    """A hashtag's videos the viewer may see, newest first (keyset on the time-ordered id, so
    pages never repeat or skip a video while counts move)."""
    query = (
        sa.select(Video, User)
        .join(VideoHashtag, VideoHashtag.video_id == Video.id)
        .join(User, User.id == Video.creator_id)
        .where(VideoHashtag.hashtag_id == tag.id, visible_videos(viewer))
    )
    if before is not None:
        query = query.where(VideoHashtag.video_id < before)
    query = query.order_by(VideoHashtag.video_id.desc()).limit(limit)
    return [(row[0], row[1]) for row in db.execute(query)]


# --- videos -------------------------------------------------------------------------------


def list_videos(
    db: Session, viewer: User | None, text: str, *, offset: int, limit: int
) -> list[tuple[Video, User]]:
    """Ready videos the viewer may see whose caption matches the query, most relevant first
    (newer first among equals)."""
    terms = query_terms(text)
    if not terms:
        return []
    matches = text_index(db).caption_matches(terms)
    query = (
        sa.select(Video, User)
        .join(matches, matches.c.video_id == Video.id)
        .join(User, User.id == Video.creator_id)
        .where(visible_videos(viewer))
        .order_by(matches.c.score, Video.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in db.execute(query)]


# --- upkeep -------------------------------------------------------------------------------


def do_rebuild_index(db: Session) -> int:
    """Refill the SQLite caption index from ``videos`` (after a restore, or if a migration that
    rebuilt ``videos`` lost the triggers and they were recreated). PostgreSQL's index is part of
    the table and needs nothing. Returns the number of videos indexed."""
    if db.get_bind().dialect.name != "sqlite":
        return 0
    db.execute(sa.text(f"DELETE FROM {SQLITE_FTS_TABLE}"))  # noqa: S608 - constants
    db.execute(sa.text(f"DELETE FROM {SQLITE_DOCS_TABLE}"))  # noqa: S608 - constants
    db.execute(sa.text(f"INSERT INTO {SQLITE_DOCS_TABLE} (video_id) SELECT id FROM videos"))  # noqa: S608
    db.execute(
        sa.text(
            f"INSERT INTO {SQLITE_FTS_TABLE} (rowid, caption) "  # noqa: S608 - constants
            f"SELECT d.doc_id, v.caption FROM {SQLITE_DOCS_TABLE} AS d "
            "JOIN videos AS v ON v.id = d.video_id"
        )
    )
    return int(db.scalar(sa.text(f"SELECT count(*) FROM {SQLITE_DOCS_TABLE}")) or 0)  # noqa: S608
