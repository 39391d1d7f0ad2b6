"""The creator studio: a creator's figures for a period, read from the rollups.

Periods are whole UTC days, ``start`` to ``end`` inclusive. Every figure is a sum of rollup
rows (``rollups.py``), so it equals the same sum over the raw watch events; likes, comments,
shares, saves and followers are the net change of those counts on each day (``count_days``,
written as the counter deltas are folded).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.age_policy import zone
from playback.accounts.models import User
from playback.analytics import bitmaps
from playback.analytics.models import (
    CreatorAudienceDay,
    CreatorDay,
    CreatorHour,
    CreatorMonth,
    VideoDay,
    VideoHour,
    VideoSourceDay,
)
from playback.analytics.rollups import AGE_BANDS, UNKNOWN_AGE, histogram, rolled_up_at
from playback.engagement import counters
from playback.engagement.models import WATCH_SOURCES, CountDay
from playback.engagement.notifications import MILESTONES
from playback.errors import Invalid, NotFound
from playback.kit.time import UTC, today
from playback.media.models import Video
from playback.social.models import Follow

ONE_DAY = dt.timedelta(days=1)
DEFAULT_DAYS = 28
MAX_DAYS = 366
HOURLY_UP_TO_DAYS = 7  # a shorter period also gets its views hour by hour
ENGAGEMENT = {
    "likes": "video_likes",
    "comments": "video_comments",
    "shares": "video_shares",
    "saves": "video_saves",
    "followers": "user_followers",
}


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), UTC)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), UTC)


def check_period(start: dt.date | None, end: dt.date | None) -> Period:
    """The period asked for; by default the last 28 days up to today (UTC)."""
    now = today()
    end = end or now
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end > now or start > now:
        raise Invalid("The period cannot reach into the future.", code="period_in_future")
    if start > end:
        raise Invalid("The period starts after it ends.", code="period_reversed")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(f"A period is at most {MAX_DAYS} days.", code="period_too_long")
    return Period(start, end)


def access_studio(user: User, handle: str | None) -> User:
    """The creator whose studio this is: only one's own (another creator's is 404)."""
    if handle is None or handle.lower() == user.handle.lower():
        return user
    raise NotFound("user")


def access_own_video(db: Session, creator: User, video_id: uuid.UUID) -> Video:
    video = db.get(Video, video_id)
    if video is None or video.creator_id != creator.id:
        raise NotFound("video")
    return video


@dataclass
class Totals:
    plays: int = 0
    views: int = 0
    watch_ms: int = 0
    unique_viewers: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    followers: int = 0


def overview(db: Session, creator: User, period: Period) -> dict[str, Any]:
    """Totals and a day-by-day series for the period, the profile's total likes and the next
    milestone."""
    daily: dict[dt.date, dict[str, int]] = {d: _zero_day() for d in period.days}
    for day, plays, views, watch_ms in db.execute(
        sa.select(CreatorDay.day, CreatorDay.plays, CreatorDay.views, CreatorDay.watch_ms).where(
            CreatorDay.creator_id == creator.id, CreatorDay.day.between(period.start, period.end)
        )
    ):
        daily[day].update(plays=plays, views=views, watch_ms=watch_ms)
    for day, kind, delta in _count_days(db, creator.id, period):
        daily[day][kind] += delta
    totals = {k: sum(d[k] for d in daily.values()) for k in _zero_day()}
    totals["unique_viewers"] = bitmaps.union_size(_viewer_sets(db, creator.id, period))
    total_likes = counters.user_counts(db, [creator])[creator.id].total_likes
    return {
        "period": period,
        "as_of": rolled_up_at(db),
        "totals": totals,
        "total_likes": total_likes,
        "next_milestone": next((m for m in MILESTONES if m > total_likes), None),
        "daily": [{"day": d, **v} for d, v in sorted(daily.items())],
    }


def whole_months(period: Period) -> tuple[dt.date, dt.date] | None:
    """The first days of the first and the last calendar month lying wholly in the period
    (None when none does)."""
    first = period.start if period.start.day == 1 else _next_month(period.start)
    last = period.end.replace(day=1)  # the end's month, unless the end is not its last day
    if _next_month(period.end) - ONE_DAY != period.end:
        last = (last - ONE_DAY).replace(day=1)
    return (first, last) if first <= last else None


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _viewer_sets(db: Session, creator_id: uuid.UUID, period: Period) -> list[bytes]:
    """Sets whose union is the creator's viewers over the period: the months lying wholly in
    it (``creator_months``) and the other days, so a long period reads a few sets rather than
    one a day."""
    days = sa.select(CreatorDay.viewers).where(
        CreatorDay.creator_id == creator_id, CreatorDay.day.between(period.start, period.end)
    )
    months = whole_months(period)
    if months is None:
        return _sets(db, days)
    first, last = months
    in_months = CreatorDay.day.between(first, _next_month(last) - ONE_DAY)
    return _sets(db, days.where(sa.not_(in_months))) + _sets(
        db,
        sa.select(CreatorMonth.viewers).where(
            CreatorMonth.creator_id == creator_id, CreatorMonth.month.between(first, last)
        ),
    )


def _sets(db: Session, query: sa.Select[bytes]) -> list[bytes]:
    """The viewer sets a query selects. A long period reads megabytes of them: on PostgreSQL
    they come in binary (as text, bytea is sent in hex and decoding it costs more than the
    query), stored uncompressed (migrations 0014, 0016)."""
    if db.get_bind().dialect.name != "postgresql":
        return list(db.scalars(query))
    compiled = query.compile(dialect=db.get_bind().dialect)
    driver = db.connection().connection.driver_connection
    with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(str(compiled), compiled.params)
        return [bytes(row[0]) for row in cursor.fetchall()]


def _zero_day() -> dict[str, int]:
    return dict.fromkeys(("plays", "views", "watch_ms", *ENGAGEMENT), 0)


def _count_days(
    db: Session, target_id: uuid.UUID, period: Period
) -> list[tuple[dt.date, str, int]]:
    names = {kind: name for name, kind in ENGAGEMENT.items()}
    rows = db.execute(
        sa.select(CountDay.day, CountDay.kind, CountDay.delta).where(
            CountDay.target_id == target_id,
            CountDay.day.between(period.start, period.end),
            CountDay.kind.in_(list(names)),
        )
    )
    return [(day, names[kind], int(delta)) for day, kind, delta in rows]


def video_list(
    db: Session, creator: User, period: Period, limit: int = 100
) -> list[dict[str, Any]]:
    """The creator's videos with their figures in the period, most viewed first (videos with no
    plays in it follow, newest first)."""
    sums = {
        r.video_id: r
        for r in db.execute(
            sa.select(
                VideoDay.video_id,
                sa.func.sum(VideoDay.plays).label("plays"),
                sa.func.sum(VideoDay.views).label("views"),
                sa.func.sum(VideoDay.watch_ms).label("watch_ms"),
            )
            .where(
                VideoDay.creator_id == creator.id, VideoDay.day.between(period.start, period.end)
            )
            .group_by(VideoDay.video_id)
        )
    }
    videos = db.scalars(
        sa.select(Video)
        .where(Video.creator_id == creator.id, Video.status.in_(("ready", "withdrawn")))
        .order_by(Video.created_at.desc())
    ).all()
    out: list[dict[str, Any]] = [
        {
            "video": v,
            "views": int(sums[v.id].views) if v.id in sums else 0,
            "plays": int(sums[v.id].plays) if v.id in sums else 0,
            "watch_ms": int(sums[v.id].watch_ms) if v.id in sums else 0,
        }
        for v in videos
    ]
    out.sort(key=lambda x: -x["views"])  # stable: ties stay newest first
    return out[:limit]


def video_report(db: Session, video: Video, period: Period) -> dict[str, Any]:
    """One video in the period: views over time, watch time, completion, retention, traffic
    sources and the followers it brought."""
    rows = (
        db.execute(
            sa.select(VideoDay).where(
                VideoDay.video_id == video.id, VideoDay.day.between(period.start, period.end)
            )
        )
        .scalars()
        .all()
    )
    plays = sum(r.plays for r in rows)
    watch_ms = sum(r.watch_ms for r in rows)
    capped_ms = sum(r.capped_ms for r in rows)
    completes = sum(r.completes for r in rows)
    duration = video.duration_ms or 0
    stopped = histogram(r.seconds for r in rows)
    # Share still watching at second s = plays that stopped at s or later / plays.
    still = np.cumsum(stopped[::-1])[::-1] if stopped.size else stopped
    retention = [
        {"second": s, "viewers": int(n), "share": (int(n) / plays) if plays else 0.0}
        for s, n in enumerate(still)
    ]
    by_day = {r.day: r for r in rows}
    daily = [
        {
            "day": d,
            "views": by_day[d].views if d in by_day else 0,
            "plays": by_day[d].plays if d in by_day else 0,
            "watch_ms": by_day[d].watch_ms if d in by_day else 0,
        }
        for d in period.days
    ]
    hourly = None
    if len(period.days) <= HOURLY_UP_TO_DAYS:
        hours = {
            h: (views, p)
            for h, views, p in db.execute(
                sa.select(VideoHour.hour, VideoHour.views, VideoHour.plays).where(
                    VideoHour.video_id == video.id,
                    VideoHour.hour >= period.since,
                    VideoHour.hour < period.until,
                )
            )
        }
        hourly = []
        at = period.since
        while at < period.until:
            views, p = hours.get(at, (0, 0))
            hourly.append({"hour": at, "views": views, "plays": p})
            at += dt.timedelta(hours=1)
    sources: dict[str, dict[str, int]] = {
        s: {"plays": 0, "views": 0, "watch_ms": 0} for s in WATCH_SOURCES
    }
    for source, p, views, ms in db.execute(
        sa.select(
            VideoSourceDay.source,
            sa.func.sum(VideoSourceDay.plays),
            sa.func.sum(VideoSourceDay.views),
            sa.func.sum(VideoSourceDay.watch_ms),
        )
        .where(
            VideoSourceDay.video_id == video.id,
            VideoSourceDay.day.between(period.start, period.end),
        )
        .group_by(VideoSourceDay.source)
    ):
        sources.setdefault(source, {"plays": 0, "views": 0, "watch_ms": 0})
        sources[source] = {"plays": int(p), "views": int(views), "watch_ms": int(ms)}
    followers = (
        db.scalar(
            sa.select(sa.func.count()).where(
                Follow.via_video_id == video.id,
                Follow.status == "accepted",
                Follow.created_at >= period.since,
                Follow.created_at < period.until,
            )
        )
        or 0
    )
    return {
        "video": video,
        "period": period,
        "as_of": rolled_up_at(db),
        "duration_ms": duration,
        "views": sum(r.views for r in rows),
        "plays": plays,
        "watch_ms": watch_ms,
        "average_watch_ms": watch_ms / plays if plays else 0.0,
        "average_percent_watched": capped_ms / (plays * duration) if plays and duration else 0.0,
        "completion_rate": completes / plays if plays else 0.0,
        "retention": retention,
        "sources": [
            {"source": s, **v, "share": v["plays"] / plays if plays else 0.0}
            for s, v in sources.items()
        ],
        "followers_gained": int(followers),
        "daily": daily,
        "hourly": hourly,
    }


def audience(db: Session, creator: User, period: Period) -> dict[str, Any]:
    """Who watched in the period: age bands, countries, and the hours (in the creator's time
    zone) they watch at."""
    dims: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for dimension, key, plays in db.execute(
        sa.select(
            CreatorAudienceDay.dimension,
            CreatorAudienceDay.key,
            sa.func.sum(CreatorAudienceDay.plays),
        )
        .where(
            CreatorAudienceDay.creator_id == creator.id,
            CreatorAudienceDay.day.between(period.start, period.end),
        )
        .group_by(CreatorAudienceDay.dimension, CreatorAudienceDay.key)
    ):
        dims[dimension][key] += int(plays)
    tz = zone(creator.time_zone)
    hours = [0] * 24
    for hour, plays in db.execute(
        sa.select(CreatorHour.hour, CreatorHour.plays).where(
            CreatorHour.creator_id == creator.id,
            CreatorHour.hour >= period.since,
            CreatorHour.hour < period.until,
        )
    ):
        hours[hour.astimezone(tz).hour] += int(plays)
    total = sum(hours)

    def shares(counts: dict[str, int], order: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "key": k,
                "plays": counts.get(k, 0),
                "share": counts.get(k, 0) / total if total else 0.0,
            }
            for k in order
        ]

    countries = dims["country"]
    return {
        "period": period,
        "as_of": rolled_up_at(db),
        "plays": total,
        "time_zone": creator.time_zone,
        "age_bands": shares(dims["age"], [*AGE_BANDS, UNKNOWN_AGE]),
        "countries": shares(countries, sorted(countries, key=lambda k: (-countries[k], k))),
        "hours": [{"hour": h, "plays": n} for h, n in enumerate(hours)],
    }
