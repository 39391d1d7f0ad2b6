"""Exact counts without hot rows.

A like (or view, follow, comment…) appends a row to ``counter_deltas`` in the same transaction
as the row that is the truth; nothing UPDATEs the video or the creator, so a storm of likes on one
viral video never queues on one row. Readers add the pending deltas to the cached columns, so
counts are exact at every moment; ``flush`` folds deltas into the caches in batches, and
``reconcile`` recomputes every cache from the truth and reports any drift.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.db import upsert_add
from playback.engagement.models import CountDay, CounterDelta
from playback.media.models import Video

# kind → (table, cached column)
KINDS: dict[str, tuple[Any, str]] = {
    "video_likes": (Video, "like_count"),
    "video_views": (Video, "view_count"),
    "video_comments": (Video, "comment_count"),
    "video_shares": (Video, "share_count"),
    "video_saves": (Video, "save_count"),
    "user_total_likes": (User, "total_likes"),
    "user_followers": (User, "follower_count"),
    "user_following": (User, "following_count"),
}
# Counts whose changes someone is told about (total-likes milestones): folded one target at a
# time, reading each new value back. The others are folded with one executemany per kind.
TOLD = {"user_total_likes"}
VIDEO_KINDS = {k: c for k, (t, c) in KINDS.items() if t is Video}
USER_KINDS = {k: c for k, (t, c) in KINDS.items() if t is User}


def add(
    db: Session, kind: str, target_id: uuid.UUID, delta: int, actor_id: uuid.UUID | None = None
) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown counter {kind}")
    if delta:
        db.add(CounterDelta(kind=kind, target_id=target_id, delta=delta, actor_id=actor_id))


def pending(
    db: Session, kinds: Iterable[str], target_ids: Iterable[uuid.UUID]
) -> dict[tuple[str, uuid.UUID], int]:
    ids = list(set(target_ids))
    if not ids:
        return {}
    rows = db.execute(
        sa.select(CounterDelta.kind, CounterDelta.target_id, sa.func.sum(CounterDelta.delta))
        .where(CounterDelta.kind.in_(list(kinds)), CounterDelta.target_id.in_(ids))
        .group_by(CounterDelta.kind, CounterDelta.target_id)
    )
    return {(kind, target): int(total) for kind, target, total in rows}


@dataclass(frozen=True)
class VideoCounts:
    likes: int = 0
    views: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0


@dataclass(frozen=True)
class UserCounts:
    followers: int = 0
    following: int = 0
    total_likes: int = 0


def video_counts(db: Session, videos: Iterable[Video]) -> dict[uuid.UUID, VideoCounts]:
    videos = list(videos)
    extra = pending(db, VIDEO_KINDS, (v.id for v in videos))
    result = {}
    for v in videos:
        result[v.id] = VideoCounts(
            likes=v.like_count + extra.get(("video_likes", v.id), 0),
            views=v.view_count + extra.get(("video_views", v.id), 0),
            comments=v.comment_count + extra.get(("video_comments", v.id), 0),
            shares=v.share_count + extra.get(("video_shares", v.id), 0),
            saves=v.save_count + extra.get(("video_saves", v.id), 0),
        )
    return result


def user_counts(db: Session, users: Iterable[User]) -> dict[uuid.UUID, UserCounts]:
    users = list(users)
    extra = pending(db, USER_KINDS, (u.id for u in users))
    return {
        u.id: UserCounts(
            followers=u.follower_count + extra.get(("user_followers", u.id), 0),
            following=u.following_count + extra.get(("user_following", u.id), 0),
            total_likes=u.total_likes + extra.get(("user_total_likes", u.id), 0),
        )
        for u in users
    }


@dataclass(frozen=True)
class Flushed:
    deltas: int
    # (kind, target) → (value before, value after) for the told caches that changed
    changes: dict[tuple[str, uuid.UUID], tuple[int, int]]
    # (kind, target) → the actors of positive deltas, newest last
    actors: dict[tuple[str, uuid.UUID], list[uuid.UUID]]


def flush(db: Session, batch: int = 5000) -> Flushed:
    """Fold up to ``batch`` pending deltas into the cached counts (in the caller's transaction).
    On PostgreSQL concurrent flushers skip each other's rows."""
    # Plain rows, not ORM objects: nothing for each UPDATE below to synchronise with.
    query = (
        sa.select(
            CounterDelta.id,
            CounterDelta.kind,
            CounterDelta.target_id,
            CounterDelta.delta,
            CounterDelta.actor_id,
            CounterDelta.created_at,
        )
        .order_by(CounterDelta.id)
        .limit(batch)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    deltas = db.execute(query).all()
    if not deltas:
        return Flushed(0, {}, {})
    totals: dict[tuple[str, uuid.UUID], int] = defaultdict(int)
    actors: dict[tuple[str, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    for d in deltas:
        totals[(d.kind, d.target_id)] += d.delta
        if d.delta > 0 and d.actor_id is not None:
            actors[(d.kind, d.target_id)].append(d.actor_id)
    changes: dict[tuple[str, uuid.UUID], tuple[int, int]] = {}
    quiet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # Targets in one order for every flusher, so two never wait on each other's rows crosswise.
    for (kind, target), total in sorted(totals.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if total == 0:
            continue
        if kind not in TOLD:
            quiet[kind].append({"target": target, "total": total})
            continue
        table, column = KINDS[kind]
        col = getattr(table, column)
        row = db.execute(
            sa.update(table)
            .where(table.id == target)
            .values({column: col + total})
            .returning(col)
            .execution_options(synchronize_session=False)
        ).first()
        if row is not None:  # the target may be gone (a deleted video): its deltas just go
            changes[(kind, target)] = (int(row[0]) - total, int(row[0]))
    for kind, params in quiet.items():
        table, column = KINDS[kind]
        core = table.__table__
        db.execute(
            core.update()
            .where(core.c.id == sa.bindparam("target"))
            .values({column: core.c[column] + sa.bindparam("total")}),
            params,  # one statement, executed for every target (a deleted one matches nothing)
        )
    _keep_days(db, deltas)
    db.execute(
        sa.delete(CounterDelta)
        .where(CounterDelta.id.in_([d.id for d in deltas]))
        .execution_options(synchronize_session=False)
    )
    return Flushed(len(deltas), changes, dict(actors))


def _keep_days(db: Session, deltas: Sequence[Any]) -> None:
    """Add the folded deltas to ``count_days`` by the UTC day they happened: each count's net
    change per day, kept under the target and, for a video's counts, under its creator too."""
    video_ids = {d.target_id for d in deltas if d.kind in VIDEO_KINDS}
    creators: dict[uuid.UUID, uuid.UUID] = {}
    if video_ids:
        found = db.execute(sa.select(Video.id, Video.creator_id).where(Video.id.in_(video_ids)))
        creators = dict(found.all())
    days: dict[tuple[uuid.UUID, dt.date, str], int] = defaultdict(int)
    for d in deltas:
        day = d.created_at.date()
        days[(d.target_id, day, d.kind)] += d.delta
        creator = creators.get(d.target_id)
        if creator is not None:
            days[(creator, day, d.kind)] += d.delta
    rows = [
        {"target_id": t, "day": day, "kind": kind, "delta": delta}
        for (t, day, kind), delta in sorted(days.items(), key=lambda kv: str(kv[0]))
        if delta
    ]
    upsert_add(db, CountDay, rows, ["target_id", "day", "kind"], ["delta"])
