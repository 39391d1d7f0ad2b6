"""For You candidate sources: each proposes videos for one reason, with a strength. They are
cheap, bounded queries; the filters and the ranking after them decide what is shown.

- ``learned``: the trained model's picks for the viewer's recent signals (``recsys/``);
- ``co_watched``: what else the people who watched the viewer's favourite videos watched;
- ``similar``: videos sharing a hashtag or the sound of the viewer's videos;
- ``followed``: new videos of accounts the viewer follows;
- ``trending``: most watched in the viewer's country over the last two days (everywhere, for a
  viewer whose country is unknown, or when the country has too little);
- ``fresh``: new uploads with a small audience yet, so every video gets a first one;
- ``popular``: the most viewed recent videos (a cold start's staple).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.engagement.models import UNKNOWN_TERRITORY, WatchEvent
from playback.feeds.context import Context
from playback.media.models import Video, VideoHashtag

PER_SOURCE = 50
CO_VIEWERS = 100
CO_SEEDS = 10
TRENDING_TTL = 60.0
FRESH_DAYS = 3
FRESH_MAX_VIEWS = 50
RECENT_DAYS = 30
TRENDING_HOURS = 48


@dataclass(frozen=True)
class Candidate:
    video_id: uuid.UUID
    source: str
    strength: float  # 0..1 within its source


Source = Callable[[Session, Context], list[Candidate]]


def _normalized(source: str, rows: Sequence[tuple[uuid.UUID | None, float]]) -> list[Candidate]:
    top = max((float(score) for _, score in rows), default=0.0) or 1.0
    return [Candidate(vid, source, float(score) / top) for vid, score in rows if vid is not None]


def learned(db: Session, ctx: Context) -> list[Candidate]:
    from playback.config import get_settings
    from playback.recsys.platform import recommend

    picks = recommend(get_settings(), ctx.signals, k=PER_SOURCE)
    top = max((score for _, score in picks), default=0.0)
    bottom = min((score for _, score in picks), default=0.0)
    spread = (top - bottom) or 1.0
    # The model's scores are on its own scale: rank them into 0..1 within the source.
    return [Candidate(vid, "learned", 0.2 + 0.8 * (s - bottom) / spread) for vid, s in picks]


def co_watched(db: Session, ctx: Context) -> list[Candidate]:
    if not ctx.seeds:
        return []
    co_viewers = list(
        db.scalars(
            sa.select(WatchEvent.viewer_key)
            .where(
                WatchEvent.video_id.in_(ctx.seeds[:CO_SEEDS]),
                WatchEvent.viewer_key != ctx.viewer_key,
            )
            .distinct()
            .limit(CO_VIEWERS)
        )
    )
    if not co_viewers:
        return []
    viewers = sa.func.count(sa.distinct(WatchEvent.viewer_key))
    rows = db.execute(
        sa.select(WatchEvent.video_id, viewers)
        .where(WatchEvent.viewer_key.in_(co_viewers), WatchEvent.video_id.not_in(ctx.seeds))
        .group_by(WatchEvent.video_id)
        .order_by(viewers.desc())
        .limit(PER_SOURCE)
    )
    return _normalized("co_watched", [(r[0], float(r[1])) for r in rows])


def similar(db: Session, ctx: Context) -> list[Candidate]:
    tags = ctx.likes.top(ctx.likes.hashtags, 10)
    sounds = ctx.likes.top(ctx.likes.sounds, 5)
    if not tags and not sounds:
        return []
    rows: dict[uuid.UUID, float] = {}
    # Ids are UUIDv7, stamped with the (real) time they were made: the (hashtag, video) index
    # then finds a tag's recent videos without reading its whole history.
    recent_floor = _id_floor(dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS))
    if tags:
        for vid, hits in db.execute(
            sa.select(VideoHashtag.video_id, sa.func.count())
            .where(VideoHashtag.hashtag_id.in_(tags), VideoHashtag.video_id >= recent_floor)
            .group_by(VideoHashtag.video_id)
            .order_by(sa.func.count().desc(), VideoHashtag.video_id.desc())
            .limit(PER_SOURCE)
        ):
            rows[vid] = rows.get(vid, 0.0) + float(hits)
    if sounds:
        for vid in db.scalars(
            sa.select(Video.id)
            .where(Video.sound_id.in_(sounds), Video.status == "ready")
            .order_by(Video.view_count.desc())
            .limit(PER_SOURCE)
        ):
            rows[vid] = rows.get(vid, 0.0) + 1.5
    return _normalized("similar", list(rows.items()))


def followed(db: Session, ctx: Context) -> list[Candidate]:
    if not ctx.following:
        return []
    since = ctx.now - dt.timedelta(days=RECENT_DAYS)
    rows = db.execute(
        sa.select(Video.id, Video.view_count)
        .where(
            Video.creator_id.in_(list(ctx.following)[:1000]),
            Video.status == "ready",
            Video.ready_at > since,
        )
        .order_by(Video.id.desc())
        .limit(PER_SOURCE)
    ).all()
    # Newest first: strength falls with the position, not the views.
    return [Candidate(r[0], "followed", 1.0 / (1 + i / 10)) for i, r in enumerate(rows)]


def _id_floor(at: dt.datetime) -> uuid.UUID:
    """The smallest UUIDv7 made at ``at``."""
    return uuid.UUID(int=(int(at.timestamp() * 1000) & ((1 << 48) - 1)) << 80)


# Trending is the same for every viewer of a country: each process keeps it for a minute.
_trending_cache: dict[tuple[str, str], tuple[float, list[Candidate]]] = {}
_trending_lock = threading.Lock()


def clear_caches() -> None:
    with _trending_lock:
        _trending_cache.clear()


def trending(db: Session, ctx: Context) -> list[Candidate]:
    key = (str(db.get_bind().engine.url), ctx.territory)
    hit = _trending_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < TRENDING_TTL:
        return hit[1]
    value = _trending(db, ctx)
    with _trending_lock:
        _trending_cache[key] = (time.monotonic(), value)
    return value


def _trending(db: Session, ctx: Context) -> list[Candidate]:
    since = ctx.now - dt.timedelta(hours=TRENDING_HOURS)
    query = (
        sa.select(WatchEvent.video_id, sa.func.count())
        .where(WatchEvent.created_at > since, WatchEvent.video_id.is_not(None))
        .group_by(WatchEvent.video_id)
        .order_by(sa.func.count().desc())
        .limit(PER_SOURCE)
    )
    rows: list[tuple[uuid.UUID | None, float]] = []
    if ctx.territory != UNKNOWN_TERRITORY:
        local = query.where(WatchEvent.territory == ctx.territory)
        rows = [(r[0], float(r[1])) for r in db.execute(local)]
    source = "trending_local"
    if len(rows) < PER_SOURCE // 3:
        rows = [(r[0], float(r[1])) for r in db.execute(query)]
        source = "trending"
    return _normalized(source, rows)


def fresh(db: Session, ctx: Context) -> list[Candidate]:
    since = ctx.now - dt.timedelta(days=FRESH_DAYS)
    rows = db.execute(
        sa.select(Video.id, Video.view_count)
        .where(
            Video.status == "ready",
            Video.ready_at > since,
            Video.view_count < FRESH_MAX_VIEWS,
        )
        .order_by(Video.ready_at.desc())
        .limit(PER_SOURCE)
    ).all()
    # The fewer views so far, the more a first audience is owed.
    return [Candidate(r[0], "fresh", 1.0 - r[1] / FRESH_MAX_VIEWS) for r in rows]


def popular(db: Session, ctx: Context) -> list[Candidate]:
    since = ctx.now - dt.timedelta(days=RECENT_DAYS)
    rows = db.execute(
        sa.select(Video.id, Video.view_count)
        .where(Video.status == "ready", Video.ready_at > since)
        .order_by(Video.view_count.desc(), Video.id.desc())
        .limit(PER_SOURCE)
    ).all()
    return _normalized("popular", [(r[0], float(r[1] + 1)) for r in rows])


SOURCES: list[Source] = [learned, co_watched, similar, followed, trending, fresh, popular]


def gather(
    db: Session, ctx: Context, sources: list[Source] | None = None
) -> dict[uuid.UUID, list[Candidate]]:
    """Every source's proposals, by video (a video proposed for several reasons keeps all)."""
    found: dict[uuid.UUID, list[Candidate]] = {}
    for source in sources or SOURCES:
        for candidate in source(db, ctx):
            found.setdefault(candidate.video_id, []).append(candidate)
    return found
