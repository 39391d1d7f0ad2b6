"""For You candidate sources: each proposes videos for one reason, with a strength. They are
cheap, bounded queries; the filters and the ranking after them decide what is shown. Lists that
are the same for every viewer (trending, fresh, popular, a hashtag's or a sound's best) are shared
through ``pools``; with a trained model, co-watching is the model's (no online query).

- ``learned``: the trained model's picks for the viewer's recent signals (``recsys/``);
- ``co_watched``: what else the people who watched the viewer's favourite videos watched;
- ``similar``: the best recent videos of the hashtags and sounds the viewer likes;
- ``followed``: new videos of accounts the viewer follows;
- ``trending``: most watched in the viewer's country over the last two days (everywhere, for a
  viewer whose country is unknown, or when the country has too little);
- ``fresh``: new uploads with a small audience yet, so every video gets a first one;
- ``popular``: the most viewed recent videos (a cold start's staple).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.engagement.models import UNKNOWN_TERRITORY, WatchEvent
from playback.feeds.context import Context
from playback.feeds.facts import facts
from playback.feeds.pools import pools
from playback.kit.time import utcnow
from playback.media.models import Video, VideoHashtag

PER_SOURCE = 50  # the length of a shared list
# How many candidates each source gives one page (about 120 in all: enough for a varied page of
# 10 after the filters, few enough to filter and score them in a few milliseconds).
TAKE = {"learned": 30, "similar": 25, "followed": 15, "trending": 20, "fresh": 15, "popular": 15}
CO_VIEWERS = 100
CO_SEEDS = 10
FRESH_DAYS = 3
FOLLOWED_ACCOUNTS = 20  # followed accounts whose new videos one page considers
PER_CREATOR = 10
COLD_KEYS = 2  # hashtags, sounds or accounts whose lists one page computes itself at most
LATEST = 100  # newest videos of a hashtag or sound among which its best are chosen
FRESH_POOL = 200  # new uploads shared out: each feed session gets PER_SOURCE of them at random
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

    picks = recommend(get_settings(), ctx.signals, k=TAKE["learned"])
    top = max((score for _, score in picks), default=0.0)
    bottom = min((score for _, score in picks), default=0.0)
    spread = (top - bottom) or 1.0
    # The model's scores are on its own scale: rank them into 0..1 within the source.
    return [Candidate(vid, "learned", 0.2 + 0.8 * (s - bottom) / spread) for vid, s in picks]


def co_watched(db: Session, ctx: Context) -> list[Candidate]:
    """Online co-watching, for as long as no model has been trained (the model learns the same
    from every viewer at once, and needs no query)."""
    from playback.config import get_settings
    from playback.recsys.platform import serving_model

    if not ctx.seeds or serving_model(get_settings()) is not None:
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
    """The best recent videos of the hashtags and sounds the viewer likes most (each list is
    shared by every viewer: ``pools``)."""
    tags = ctx.likes.top(ctx.likes.hashtags, 10)
    sounds = ctx.likes.top(ctx.likes.sounds, 5)
    rows: dict[uuid.UUID, float] = {}
    keys = [("hashtag", tag) for tag in tags] + [("sound", sound) for sound in sounds]
    for (kind, _), found in pools.get_many(db, keys, _best_of, at_most=COLD_KEYS).items():
        for c in found[: TAKE["similar"]]:
            base = 1.0 if kind == "hashtag" else 1.5
            rows[c.video_id] = rows.get(c.video_id, 0.0) + base + 0.5 * c.strength
    best = sorted(rows.items(), key=lambda r: -r[1])[: TAKE["similar"]]
    return _normalized("similar", best)


# Prepared once: the statements run for every hashtag, sound and account a page asks about.
_TAG_LATEST = (
    sa.select(VideoHashtag.video_id)
    .where(
        VideoHashtag.hashtag_id == sa.bindparam("key"),
        VideoHashtag.video_id >= sa.bindparam("floor"),
    )
    .order_by(VideoHashtag.video_id.desc())
    .limit(LATEST)
    .subquery()
)
_BEST_OF_TAG = (
    sa.select(Video.id, Video.view_count)
    .join(_TAG_LATEST, _TAG_LATEST.c.video_id == Video.id)
    .where(Video.status == "ready")
    .order_by(Video.view_count.desc(), Video.id.desc())
    .limit(PER_SOURCE)
)
_BEST_OF_SOUND = (
    sa.select(Video.id, Video.view_count)
    .where(Video.sound_id == sa.bindparam("key"), Video.status == "ready")
    .order_by(Video.view_count.desc(), Video.id.desc())
    .limit(PER_SOURCE)
)
_NEWEST_OF_ACCOUNT = (
    sa.select(Video.id)
    .where(
        Video.creator_id == sa.bindparam("key"),
        Video.status == "ready",
        Video.id >= sa.bindparam("floor"),
    )
    .order_by(Video.id.desc())
    .limit(PER_CREATOR)
)


def _best_of(
    db: Session, keys: list[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], list[Candidate]]:
    """For each hashtag: the most viewed of its ``LATEST`` newest videos of the last
    ``RECENT_DAYS`` (bounded work however big the tag); for each sound: its most viewed ready
    videos (straight from the (sound, status, views) index)."""
    # Ids are UUIDv7, stamped with the (real) time they were made: the (hashtag, video) index
    # finds a tag's newest without reading its whole history.
    floor = _id_floor(dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS))
    found = {}
    for kind, key in keys:
        query = _BEST_OF_TAG if kind == "hashtag" else _BEST_OF_SOUND
        rows = db.execute(query, {"key": key, "floor": floor}).all()
        found[(kind, key)] = _normalized("similar", [(r[0], math.log1p(r[1]) + 1) for r in rows])
    return found


def followed(db: Session, ctx: Context) -> list[Candidate]:
    """New videos of followed accounts: the ones the viewer enjoys most first, then the others
    in an order of the feed session's own (each account's newest are a shared list)."""
    if not ctx.following:
        return []
    rng = random.Random(ctx.session_id)
    accounts = sorted(ctx.following)
    rng.shuffle(accounts)
    accounts.sort(key=lambda a: -ctx.likes.creators.get(a, 0.0))
    keys = [("creator", account) for account in accounts[:FOLLOWED_ACCOUNTS]]
    found = sorted(
        (
            vid
            for videos in pools.get_many(db, keys, _newest_of, at_most=COLD_KEYS).values()
            for vid in videos
        ),
        reverse=True,  # UUIDv7: newest first
    )
    # Strength falls with the position, not the views.
    return [
        Candidate(vid, "followed", 1.0 / (1 + i / 10))
        for i, vid in enumerate(found[: TAKE["followed"]])
    ]


def _newest_of(
    db: Session, keys: list[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], list[uuid.UUID]]:
    """Each account's newest ready videos of the last ``RECENT_DAYS``."""
    floor = _id_floor(dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS))
    return {
        key: list(db.scalars(_NEWEST_OF_ACCOUNT, {"key": key[1], "floor": floor})) for key in keys
    }


def _id_floor(at: dt.datetime) -> uuid.UUID:
    """The smallest UUIDv7 made at ``at``."""
    return uuid.UUID(int=(int(at.timestamp() * 1000) & ((1 << 48) - 1)) << 80)


def clear_caches() -> None:
    pools.clear()
    facts.clear()


def trending(db: Session, ctx: Context) -> list[Candidate]:
    """Most watched in the viewer's country over the last two days (everywhere, when the
    country is unknown or has too little)."""
    lists = pools.get(db, ("trending",), _trending)
    local = lists.get(ctx.territory, [])
    pool = local if len(local) >= PER_SOURCE // 3 else lists.get(EVERYWHERE, [])
    return _unserved(ctx, pool, TAKE["trending"])


EVERYWHERE = "*"


def _trending(db: Session) -> dict[str, list[Candidate]]:
    """Every country's trending list and the list for everywhere, in two passes over the
    window (the database ranks; only the heads come back)."""
    since = utcnow() - dt.timedelta(hours=TRENDING_HOURS)
    plays = sa.func.count().label("plays")
    per_country = (
        sa.select(
            WatchEvent.territory,
            WatchEvent.video_id,
            plays,
            sa.func.row_number()
            .over(partition_by=WatchEvent.territory, order_by=sa.func.count().desc())
            .label("place"),
        )
        .where(
            WatchEvent.created_at > since,
            WatchEvent.video_id.is_not(None),
            WatchEvent.territory != UNKNOWN_TERRITORY,
        )
        .group_by(WatchEvent.territory, WatchEvent.video_id)
        .subquery()
    )
    rows: dict[str, list[tuple[uuid.UUID | None, float]]] = {}
    for territory, vid, count in db.execute(
        sa.select(per_country.c.territory, per_country.c.video_id, per_country.c.plays)
        .where(per_country.c.place <= PER_SOURCE)
        .order_by(per_country.c.territory, per_country.c.place)
    ):
        rows.setdefault(territory, []).append((vid, float(count)))
    everywhere = db.execute(
        sa.select(WatchEvent.video_id, sa.func.count())
        .where(WatchEvent.created_at > since, WatchEvent.video_id.is_not(None))
        .group_by(WatchEvent.video_id)
        .order_by(sa.func.count().desc())
        .limit(PER_SOURCE)
    )
    lists = {territory: _normalized("trending_local", found) for territory, found in rows.items()}
    lists[EVERYWHERE] = _normalized("trending", [(r[0], float(r[1])) for r in everywhere])
    return lists


def warm(db: Session) -> None:
    """Load the trained model and compute the lists every first page needs (a server calls it
    as it starts)."""
    from playback.config import get_settings
    from playback.recsys.platform import serving_model

    serving_model(get_settings())
    pools.get(db, ("trending",), _trending)
    pools.get(db, ("popular",), _popular)
    pools.get(db, ("fresh",), _fresh)


def fresh(db: Session, ctx: Context) -> list[Candidate]:
    pool = pools.get(db, ("fresh",), _fresh)
    # Each feed session draws its own share, so the first audiences spread over every upload.
    return random.Random(ctx.session_id).sample(pool, min(TAKE["fresh"], len(pool)))


def _fresh(db: Session) -> list[Candidate]:
    since = utcnow() - dt.timedelta(days=FRESH_DAYS)
    rows = db.execute(
        sa.select(Video.id, Video.view_count)
        .where(
            Video.status == "ready",
            Video.ready_at > since,
            Video.view_count < FRESH_MAX_VIEWS,
        )
        .order_by(Video.ready_at.desc())
        .limit(FRESH_POOL)
    ).all()
    # The fewer views so far, the more a first audience is owed.
    return [Candidate(r[0], "fresh", 1.0 - r[1] / FRESH_MAX_VIEWS) for r in rows]


def popular(db: Session, ctx: Context) -> list[Candidate]:
    return _unserved(ctx, pools.get(db, ("popular",), _popular), TAKE["popular"])


def _unserved(ctx: Context, pool: list[Candidate], n: int) -> list[Candidate]:
    """The first ``n`` of a shared list that this feed session has not served yet."""
    skip = ctx.served | ctx.not_interested
    return [c for c in pool if c.video_id not in skip][:n]


def _popular(db: Session) -> list[Candidate]:
    since = utcnow() - dt.timedelta(days=RECENT_DAYS)
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
