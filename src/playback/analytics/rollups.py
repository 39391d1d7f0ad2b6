"""The rollup job: watch events become hourly and daily sums.

``roll(db)`` reads the next batch of watch events after the watermark (``rollup_state``), adds
them to every rollup table and moves the watermark, all in the caller's transaction: a batch
is counted exactly once or not at all. Only events older than ``LAG`` are read, so an event
whose transaction commits a little after a later one (PostgreSQL hands out ids before commit)
is never skipped. One roll runs at a time: the state row is locked on PostgreSQL, and SQLite
serialises writers.

Every figure here is a sum of events, so the studio's numbers reconcile exactly with
``watch_events`` (``tests/test_studio.py`` checks each against the raw rows). Views of a video
deleted later stay in its creator's days: they happened. Unique viewers are per scope numbers
in bitmaps (``bitmaps.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from playback.accounts.age_policy import age_on
from playback.accounts.models import User
from playback.analytics import bitmaps
from playback.analytics.models import (
    PLATFORM,
    AudienceMember,
    CreatorAudienceDay,
    CreatorDay,
    CreatorHour,
    CreatorMonth,
    PlatformDay,
    RollupState,
    TrendDay,
    VideoDay,
    VideoHour,
    VideoSourceDay,
)
from playback.db import insert_or_ignore, upsert_add
from playback.engagement.models import WatchEvent
from playback.kit.time import utcnow
from playback.media.models import Video, VideoHashtag

STATE = "watch_events"
LAG = dt.timedelta(seconds=30)
BATCH = 5_000  # a few hundred milliseconds of SQLite's write lock per batch
SUMS = ["plays", "views", "watch_ms"]
AGE_BANDS = ("13-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55+")
UNKNOWN_AGE = "unknown"  # a viewer who was not logged in


def age_band_on(birthdate: dt.date | None, day: dt.date) -> str:
    """The audience band of a viewer on a day (finer than the age policy's bands)."""
    if birthdate is None:
        return UNKNOWN_AGE
    years = age_on(birthdate, day)
    for band, upper in zip(AGE_BANDS, (15, 17, 24, 34, 44, 54), strict=False):
        if years <= upper:
            return band
    return AGE_BANDS[-1]


def retention_buckets(duration_ms: int) -> int:
    """Seconds 0..n-1 of a video: bucket s holds the plays that stopped during second s, the
    last one also every play that went further (reached the end, or looped)."""
    return max(duration_ms, 0) // 1000 + 1


@dataclass
class _Sums:
    plays: int = 0
    views: int = 0
    watch_ms: int = 0

    def add(self, counted: bool, watched_ms: int) -> None:
        self.plays += 1
        self.views += int(counted)
        self.watch_ms += watched_ms

    def row(self, **keys: Any) -> dict[str, Any]:
        return {**keys, "plays": self.plays, "views": self.views, "watch_ms": self.watch_ms}


@dataclass
class _VideoDay(_Sums):
    creator_id: uuid.UUID | None = None
    capped_ms: int = 0
    completes: int = 0
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))


@dataclass
class _Batch:
    """One batch's sums, by table and key."""

    video_hours: dict[tuple[uuid.UUID, dt.datetime], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    video_days: dict[tuple[uuid.UUID, dt.date], _VideoDay] = field(default_factory=dict)
    sources: dict[tuple[uuid.UUID, dt.date, str], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    creator_hours: dict[tuple[uuid.UUID, dt.datetime], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    creator_days: dict[tuple[uuid.UUID, dt.date], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    audience: dict[tuple[uuid.UUID, dt.date, str, str], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    platform_days: dict[dt.date, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    trends: dict[tuple[str, uuid.UUID, str, dt.date], _Sums] = field(
        default_factory=lambda: defaultdict(_Sums)
    )
    # (scope, day) → the viewer keys seen (creators: everyone; the platform: accounts only)
    viewers: dict[tuple[uuid.UUID, dt.date], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )


def roll(db: Session, *, until: dt.datetime | None = None, batch: int = BATCH) -> int:
    """Roll up the next batch of events created before ``until`` (default: now less ``LAG``);
    returns how many were rolled up (fewer than ``batch`` when none are left)."""
    until = until if until is not None else utcnow() - LAG
    state = _claim_state(db)
    rows: list[Any] = db.execute(
        sa.select(
            WatchEvent.id,
            WatchEvent.video_id,
            WatchEvent.viewer_id,
            WatchEvent.viewer_key,
            WatchEvent.watched_ms,
            WatchEvent.source,
            WatchEvent.counted,
            WatchEvent.sound_id,
            WatchEvent.territory,
            WatchEvent.created_at,
            Video.creator_id,
            Video.duration_ms,
            User.birthdate,
        )
        .outerjoin(Video, Video.id == WatchEvent.video_id)
        .outerjoin(User, User.id == WatchEvent.viewer_id)
        .where(WatchEvent.id > state.last_event_id)
        .order_by(WatchEvent.id)
        .limit(batch)
    ).all()  # type: ignore[assignment]
    cut = next((i for i, r in enumerate(rows) if r.created_at >= until), len(rows))
    rows = rows[:cut]
    if not rows:
        return 0
    sums = _add_up(db, rows)
    _write(db, sums)
    state.last_event_id = rows[-1].id
    state.updated_at = utcnow()
    return len(rows)


def roll_all(
    database: Any,
    *,
    until: dt.datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Roll up every event before ``until``, one transaction per batch."""
    total = 0
    while True:
        with database.unit_of_work() as db:
            done = roll(db, until=until, batch=batch)
        total += done
        if progress is not None:
            progress(done)
        if done < batch:
            return total


def pending_events(db: Session) -> int:
    """Events not rolled up yet (for the progress bar and the studio's "as of")."""
    state = db.get(RollupState, STATE)
    last = state.last_event_id if state else 0
    return db.scalar(sa.select(sa.func.count()).where(WatchEvent.id > last)) or 0


def rolled_up_at(db: Session) -> dt.datetime | None:
    state = db.get(RollupState, STATE)
    return state.updated_at if state else None


def _claim_state(db: Session) -> RollupState:
    query = sa.select(RollupState).where(RollupState.name == STATE)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    state = db.scalar(query)
    if state is None:
        insert_or_ignore(
            db, RollupState.__table__, name=STATE, last_event_id=0, updated_at=utcnow()
        )
        state = db.scalars(query).one()
    return state


def _add_up(db: Session, rows: list[Any]) -> _Batch:
    sums = _Batch()
    video_ids = {r.video_id for r in rows if r.creator_id is not None}
    hashtags: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if video_ids:
        for video_id, hashtag_id in db.execute(
            sa.select(VideoHashtag.video_id, VideoHashtag.hashtag_id).where(
                VideoHashtag.video_id.in_(video_ids)
            )
        ):
            hashtags[video_id].append(hashtag_id)
    for r in rows:
        at: dt.datetime = r.created_at
        day, hour = at.date(), at.replace(minute=0, second=0, microsecond=0)
        counted, watched = bool(r.counted), int(r.watched_ms)
        sums.platform_days[day].add(counted, watched)
        if r.viewer_id is not None:
            sums.viewers[(PLATFORM, day)].add(r.viewer_key)
        if r.sound_id is not None:
            sums.trends[("sound", r.sound_id, r.territory, day)].add(counted, watched)
        if r.creator_id is None:  # the video is gone: only the platform's sums keep it
            continue
        creator, video = r.creator_id, r.video_id
        for hashtag_id in hashtags.get(video, ()):
            sums.trends[("hashtag", hashtag_id, r.territory, day)].add(counted, watched)
        sums.video_hours[(video, hour)].add(counted, watched)
        sums.sources[(video, day, r.source)].add(counted, watched)
        sums.creator_hours[(creator, hour)].add(counted, watched)
        sums.creator_days[(creator, day)].add(counted, watched)
        sums.viewers[(creator, day)].add(r.viewer_key)
        sums.audience[(creator, day, "age", age_band_on(r.birthdate, day))].add(counted, watched)
        sums.audience[(creator, day, "country", r.territory)].add(counted, watched)
        duration = int(r.duration_ms or 0)
        vd = sums.video_days.get((video, day))
        if vd is None:
            vd = sums.video_days[(video, day)] = _VideoDay(
                creator_id=creator, seconds=np.zeros(retention_buckets(duration), dtype=np.int64)
            )
        vd.add(counted, watched)
        vd.capped_ms += min(watched, duration)
        vd.completes += int(duration > 0 and watched >= duration)
        vd.seconds[min(watched // 1000, vd.seconds.size - 1)] += 1
    return sums


def _write(db: Session, sums: _Batch) -> None:
    def rows(table: dict[Any, _Sums], names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [s.row(**dict(zip(names, key, strict=True))) for key, s in sorted(table.items())]

    upsert_add(
        db, VideoHour, rows(sums.video_hours, ("video_id", "hour")), ["video_id", "hour"], SUMS
    )
    upsert_add(
        db,
        VideoSourceDay,
        rows(sums.sources, ("video_id", "day", "source")),
        ["video_id", "day", "source"],
        SUMS,
    )
    upsert_add(
        db,
        CreatorHour,
        rows(sums.creator_hours, ("creator_id", "hour")),
        ["creator_id", "hour"],
        SUMS,
    )
    upsert_add(
        db,
        CreatorAudienceDay,
        rows(sums.audience, ("creator_id", "day", "dimension", "key")),
        ["creator_id", "day", "dimension", "key"],
        SUMS,
    )
    upsert_add(
        db,
        TrendDay,
        rows(sums.trends, ("kind", "key_id", "territory", "day")),
        ["kind", "key_id", "territory", "day"],
        SUMS,
    )
    _write_video_days(db, sums.video_days)
    numbers = _numbers(db, sums.viewers)
    seen = {key: numbers[key[0]] for key in sums.viewers}
    creator_rows = []
    for (creator, day), s in sorted(sums.creator_days.items()):
        creator_rows.append(s.row(creator_id=creator, day=day, new=_seen(seen, sums, creator, day)))
    _write_with_sets(db, CreatorDay, "viewers", creator_rows, ["creator_id", "day"])
    months: dict[tuple[uuid.UUID, dt.date], list[np.ndarray]] = defaultdict(list)
    for row in creator_rows:
        months[(row["creator_id"], row["day"].replace(day=1))].append(row["new"])
    month_rows = [
        {"creator_id": creator, "month": month, "new": np.concatenate(parts)}
        for (creator, month), parts in sorted(months.items())
    ]
    _write_with_sets(db, CreatorMonth, "viewers", month_rows, ["creator_id", "month"], sums=[])
    platform_rows = []
    for day, s in sorted(sums.platform_days.items()):
        platform_rows.append(s.row(day=day, new=_seen(seen, sums, PLATFORM, day)))
    _write_with_sets(db, PlatformDay, "active", platform_rows, ["day"], count="active_count")


def _seen(
    seen: dict[tuple[uuid.UUID, dt.date], dict[str, int]],
    sums: _Batch,
    scope: uuid.UUID,
    day: dt.date,
) -> np.ndarray:
    keys = sums.viewers.get((scope, day), set())
    numbers = seen.get((scope, day), {})
    return np.fromiter((numbers[k] for k in keys), dtype=np.uint32, count=len(keys))


def numbers_of(db: Session, scope: uuid.UUID, keys: Iterable[str]) -> dict[str, int]:
    """The numbers of viewer keys within a scope (a viewer never rolled up there has none)."""
    known: dict[str, int] = {}
    for chunk in _chunks(sorted(keys), 5000):
        known.update((key, idx) for key, idx in db.execute(_numbers_query(db, scope, chunk)))
    return known


def _numbers_query(db: Session, scope: uuid.UUID, keys: list[str]) -> sa.Select[str, int]:
    if db.get_bind().dialect.name != "postgresql":
        return sa.select(AudienceMember.viewer_key, AudienceMember.idx).where(
            AudienceMember.scope_id == scope, AudienceMember.viewer_key.in_(keys)
        )
    # PostgreSQL plans a long IN list as a scan of the scope's whole audience; joined to the
    # keys as an array's rows it probes the primary key once per key instead.
    wanted = sa.func.unnest(sa.literal(keys, ARRAY(sa.String))).table_valued("key").render_derived()
    return (
        sa.select(AudienceMember.viewer_key, AudienceMember.idx)
        .select_from(wanted)
        .join(
            AudienceMember,
            sa.and_(AudienceMember.scope_id == scope, AudienceMember.viewer_key == wanted.c.key),
        )
    )


def _numbers(
    db: Session, viewers: dict[tuple[uuid.UUID, dt.date], set[str]]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each scope's numbers for the viewers seen, numbering the new ones after the last."""
    by_scope: dict[uuid.UUID, set[str]] = defaultdict(set)
    for (scope, _day), keys in viewers.items():
        by_scope[scope] |= keys
    numbers: dict[uuid.UUID, dict[str, int]] = {}
    new_rows: list[dict[str, Any]] = []
    for scope, keys in sorted(by_scope.items()):
        known = numbers_of(db, scope, keys)
        missing = sorted(keys - known.keys())
        if missing:
            # Only the rollup numbers viewers, one roll at a time (the unique index would
            # refuse a second numbering), and numbers are never taken back: erasure renames a
            # member. The next number follows the scope's highest (one index probe).
            highest = db.scalar(
                sa.select(sa.func.max(AudienceMember.idx)).where(AudienceMember.scope_id == scope)
            )
            start = 0 if highest is None else highest + 1
            for i, key in enumerate(missing):
                known[key] = start + i
                new_rows.append({"scope_id": scope, "viewer_key": key, "idx": start + i})
        numbers[scope] = known
    for chunk in _chunks(new_rows, 5000):
        db.execute(sa.insert(AudienceMember), chunk)
    return numbers


def _write_video_days(db: Session, days: dict[tuple[uuid.UUID, dt.date], _VideoDay]) -> None:
    if not days:
        return
    existing: dict[tuple[uuid.UUID, dt.date], bytes] = {}
    for chunk in _chunks(sorted(days), 500):
        for video_id, day, seconds in db.execute(
            sa.select(VideoDay.video_id, VideoDay.day, VideoDay.seconds).where(
                sa.tuple_(VideoDay.video_id, VideoDay.day).in_(chunk)
            )
        ):
            existing[(video_id, day)] = seconds
    rows = []
    for (video_id, day), vd in sorted(days.items()):
        merged = _add_histograms(existing.get((video_id, day), b""), vd.seconds)
        rows.append(
            vd.row(
                video_id=video_id,
                day=day,
                creator_id=vd.creator_id,
                capped_ms=vd.capped_ms,
                completes=vd.completes,
                seconds=merged,
            )
        )
    upsert_add(
        db,
        VideoDay,
        rows,
        ["video_id", "day"],
        [*SUMS, "capped_ms", "completes"],
        replace=["seconds"],
    )


def _write_with_sets(
    db: Session,
    model: Any,
    column: str,
    rows: list[dict[str, Any]],
    keys: list[str],
    count: str | None = None,
    sums: list[str] | None = None,
) -> None:
    """Rows whose ``column`` is a set of viewer numbers: the batch's numbers (``new``) are
    united with the stored set (and the ``sums``, the plays, views and watch time unless told,
    added)."""
    if not rows:
        return
    key_cols = [getattr(model, k) for k in keys]
    wanted = [tuple(r[k] for k in keys) for r in rows]
    stored: dict[tuple[Any, ...], bytes] = {}
    for chunk in _chunks(wanted, 500):
        where = (
            sa.tuple_(*key_cols).in_(chunk)
            if len(keys) > 1
            else key_cols[0].in_([c[0] for c in chunk])
        )
        for row in db.execute(sa.select(*key_cols, getattr(model, column)).where(where)):
            stored[tuple(row[: len(keys)])] = row[-1]
    written: list[dict[str, Any]] = []
    for r, key in zip(rows, wanted, strict=True):
        out = {k: v for k, v in r.items() if k != "new"}
        out[column] = bitmaps.add(stored.get(key, b""), r["new"])
        if count is not None:
            out[count] = bitmaps.size(out[column])
        written.append(out)
    adds = SUMS if sums is None else sums
    upsert_add(db, model, written, keys, adds, replace=[column] + ([count] if count else []))


def _add_histograms(stored: bytes, counts: np.ndarray) -> bytes:
    return _sum([np.frombuffer(stored, dtype="<u4"), counts]).astype("<u4").tobytes()


def histogram(blobs: Iterable[bytes]) -> np.ndarray:
    """The sum of stored per-second histograms."""
    return _sum([np.frombuffer(b, dtype="<u4") for b in blobs])


def _sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays of counts of different lengths added up, as the longest."""
    total = np.zeros(max((a.size for a in arrays), default=0), dtype=np.int64)
    for a in arrays:
        total[: a.size] += a
    return total


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
