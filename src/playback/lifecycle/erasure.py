"""Erasing an account for good: a resumable, idempotent job in small batches.

Deactivation already took the person's contributions out of every count others see, so erasure
only removes rows. Each step deletes (or anonymises) at most ``batch`` rows per transaction, so
the site keeps answering while a star with a million followers goes, memory stays bounded, and a
job that dies resumes where the rows say it stopped. What stays, without the person: watch
events (video, sound, milliseconds heard, country — label usage reports keep their numbers),
shares, and original sounds that others' videos use ("original sound – a deleted account").
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.accounts.models import DEACTIVATED, ERASING, AuthSession, User
from playback.analytics.models import AudienceMember
from playback.db import Database, after_commit
from playback.engagement.models import (
    Comment,
    CommentLike,
    CommentMention,
    CountDay,
    CounterDelta,
    FeedImpression,
    Like,
    Notification,
    NotInterested,
    Save,
    Share,
    WatchEvent,
)
from playback.kit.time import utcnow
from playback.media.models import Video, VideoMention
from playback.safety.models import Appeal, ModerationAction, Report
from playback.social.models import Block, Follow
from playback.sounds.models import Sound
from playback.storage import Storage

log = structlog.get_logger("playback.lifecycle")

BATCH = 2000
VIDEO_BATCH = 20  # a video row takes its hashtags, mentions and appeals with it


def storage_prefixes(user_id: uuid.UUID) -> list[str]:
    """Every storage prefix that holds a person's files."""
    return [f"videos/{user_id}/", f"avatars/{user_id}/", f"exports/{user_id}/"]


@dataclass(frozen=True)
class Step:
    """One kind of row to remove: ``count`` says how many are left, ``run`` removes (or
    anonymises) a batch of them and returns how many (0 once nothing is left)."""

    name: str
    count: Callable[[Session, uuid.UUID], int]
    run: Callable[[Session, uuid.UUID, int], int]


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


Where = Callable[[uuid.UUID], sa.ColumnElement[bool]]


def _counter(model: Any, where: Where) -> Callable[[Session, uuid.UUID], int]:
    def count(db: Session, user_id: uuid.UUID) -> int:
        return int(
            db.scalar(sa.select(sa.func.count()).select_from(model).where(where(user_id))) or 0
        )

    return count


def _delete_where(name: str, model: Any, where: Where) -> Step:
    """Delete the rows matching ``where`` a batch at a time, chosen by primary key."""
    key = list(sa.inspect(model).primary_key)

    def run(db: Session, user_id: uuid.UUID, batch: int) -> int:
        chosen = sa.select(*key).where(where(user_id)).limit(batch)
        target = key[0] if len(key) == 1 else sa.tuple_(*key)
        return _rowcount(
            db.execute(
                sa.delete(model)
                .where(target.in_(chosen))
                .execution_options(synchronize_session=False)
            )
        )

    return Step(name, _counter(model, where), run)


def _anonymise(name: str, model: Any, where: Where, values: dict[str, Any]) -> Step:
    """Keep the rows matching ``where`` without the person: set ``values`` (which must take
    them out of ``where``) a batch at a time, chosen by primary key."""
    (key,) = sa.inspect(model).primary_key

    def run(db: Session, user_id: uuid.UUID, batch: int) -> int:
        chosen = sa.select(key).where(where(user_id)).limit(batch).scalar_subquery()
        return _rowcount(
            db.execute(
                sa.update(model)
                .where(key.in_(chosen))
                .values(values)
                .execution_options(synchronize_session=False)
            )
        )

    return Step(name, _counter(model, where), run)


def _own_videos(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Video.id).where(Video.creator_id == user_id)


def _own_comments(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Comment.id).where(Comment.author_id == user_id)


def _viewer_key(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def _watched_by(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return WatchEvent.viewer_key == _viewer_key(user_id)


def _watched_on_own_videos(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return WatchEvent.video_id.in_(_own_videos(user_id))


def _numbered(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return AudienceMember.viewer_key == _viewer_key(user_id)


def _unname_numbers(db: Session, user_id: uuid.UUID, batch: int) -> int:
    """Keep the person's number in each audience (the days' viewer sets hold it) under a name
    that is no one's: "erased-member:<number>", unique within the scope."""
    scopes = (
        sa.select(AudienceMember.scope_id).where(_numbered(user_id)).limit(batch).scalar_subquery()
    )
    return _rowcount(
        db.execute(
            sa.update(AudienceMember)
            .where(_numbered(user_id), AudienceMember.scope_id.in_(scopes))
            .values(
                viewer_key=sa.literal("erased-member:") + sa.cast(AudienceMember.idx, sa.String)
            )
            .execution_options(synchronize_session=False)
        )
    )


def _originals(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.and_(Sound.kind == "original", Sound.origin_user_id == user_id)


def _used_by_others(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.exists().where(Video.sound_id == Sound.id, Video.creator_id != user_id)


def _release_sounds(db: Session, user_id: uuid.UUID, batch: int) -> int:
    """Original sounds: kept without their creator when others' videos use them, else gone
    (with their audio files, after the commit)."""
    kept = _rowcount(
        db.execute(
            sa.update(Sound)
            .where(
                Sound.id.in_(
                    sa.select(Sound.id)
                    .where(_originals(user_id), _used_by_others(user_id))
                    .limit(batch)
                    .scalar_subquery()
                )
            )
            .values(origin_user_id=None, origin_video_id=None)
            .execution_options(synchronize_session=False)
        )
    )
    if kept:
        return kept
    gone = list(
        db.scalars(
            sa.select(Sound.id).where(_originals(user_id), ~_used_by_others(user_id)).limit(batch)
        )
    )
    if not gone:
        return 0
    db.execute(
        sa.update(WatchEvent)
        .where(WatchEvent.sound_id.in_(gone))
        .values(sound_id=None)
        .execution_options(synchronize_session=False)
    )
    db.execute(sa.delete(Sound).where(Sound.id.in_(gone)))
    _delete_files_after_commit(db, [f"sounds/{sid}/" for sid in gone])
    return len(gone)


def _delete_videos(db: Session, user_id: uuid.UUID, batch: int) -> int:
    ids = list(db.scalars(_own_videos(user_id).limit(min(batch, VIDEO_BATCH))))
    if not ids:
        return 0
    db.execute(sa.delete(CounterDelta).where(CounterDelta.target_id.in_(ids)))
    db.execute(sa.delete(Video).where(Video.id.in_(ids)))
    _delete_files_after_commit(db, [f"videos/{user_id}/{vid}/" for vid in ids])
    return len(ids)


def _delete_files_after_commit(db: Session, prefixes: list[str]) -> None:
    """Remove files once the rows pointing at them are gone for good, counting them on the
    erasure being run (a crash in between leaves them to the final sweep of the prefixes)."""
    storage: Storage | None = db.info.get("erasure_storage")
    result: Erasure | None = db.info.get("erasure_result")
    if storage is None:
        return

    def delete() -> None:
        removed = sum(storage.delete_prefix(p) for p in prefixes)
        if result is not None:
            result.files += removed

    after_commit(db, delete)


def _mentions_of(model: Any) -> Step:
    return _delete_where(f"{model.__tablename__}", model, lambda uid: model.user_id == uid)


def _about(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """Reports and moderation entries about the person, their videos or their comments."""
    return sa.or_(
        Report.target_id == user_id,
        Report.target_id.in_(_own_videos(user_id)),
        Report.target_id.in_(_own_comments(user_id)),
    )


def _actions_about(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.or_(
        ModerationAction.target_id == user_id,
        ModerationAction.target_id.in_(_own_videos(user_id)),
        ModerationAction.target_id.in_(_own_comments(user_id)),
    )


def steps() -> list[Step]:
    """Every step, in order: what others gave the person's things first (so no one video
    delete cascades over millions of rows), then what the person gave, then their things."""
    erased_key = sa.literal("erased:") + sa.cast(WatchEvent.id, sa.String())
    return [
        _delete_where("sessions", AuthSession, lambda uid: AuthSession.user_id == uid),
        _delete_where("follows given", Follow, lambda uid: Follow.follower_id == uid),
        _delete_where("followers", Follow, lambda uid: Follow.followee_id == uid),
        _delete_where("blocks given", Block, lambda uid: Block.blocker_id == uid),
        _delete_where("blocked by", Block, lambda uid: Block.blocked_id == uid),
        _delete_where("likes given", Like, lambda uid: Like.user_id == uid),
        _delete_where("saves", Save, lambda uid: Save.user_id == uid),
        _delete_where("comment likes", CommentLike, lambda uid: CommentLike.user_id == uid),
        _delete_where(
            "not interested",
            NotInterested,
            lambda uid: NotInterested.viewer_key == _viewer_key(uid),
        ),
        _delete_where(
            "feed impressions",
            FeedImpression,
            lambda uid: FeedImpression.viewer_key == _viewer_key(uid),
        ),
        _delete_where(
            "notifications",
            Notification,
            lambda uid: sa.or_(Notification.user_id == uid, Notification.actor_id == uid),
        ),
        _mentions_of(VideoMention),
        _mentions_of(CommentMention),
        _delete_where("reports about", Report, _about),
        _delete_where("moderation about", ModerationAction, _actions_about),
        _anonymise(
            "reports by", Report, lambda uid: Report.reporter_id == uid, {"reporter_id": None}
        ),
        _anonymise(
            "decisions by",
            ModerationAction,
            lambda uid: ModerationAction.moderator_id == uid,
            {"moderator_id": None},
        ),
        _anonymise("shares", Share, lambda uid: Share.user_id == uid, {"user_id": None}),
        _anonymise(
            "watch_events.viewer",
            WatchEvent,
            _watched_by,
            {"viewer_id": None, "viewer_key": erased_key},
        ),
        _anonymise("watch_events.video", WatchEvent, _watched_on_own_videos, {"video_id": None}),
        # The rollups keep what the person watched as a number in each creator's audience
        # (the sums stay, like the events); their own audience and counts by day go.
        Step("audience numbers", _counter(AudienceMember, _numbered), _unname_numbers),
        _delete_where("own audience", AudienceMember, lambda uid: AudienceMember.scope_id == uid),
        _delete_where(
            "counts by day",
            CountDay,
            lambda uid: sa.or_(CountDay.target_id == uid, CountDay.target_id.in_(_own_videos(uid))),
        ),
        # Others' likes, saves and comments on the person's videos, and replies to their
        # comments, before the rows they hang from.
        _delete_where("likes received", Like, lambda uid: Like.video_id.in_(_own_videos(uid))),
        _delete_where("saves received", Save, lambda uid: Save.video_id.in_(_own_videos(uid))),
        # Two steps, each on its own index (an OR of both would read every comment).
        _delete_where(
            "replies received", Comment, lambda uid: Comment.parent_id.in_(_own_comments(uid))
        ),
        _delete_where(
            "comments received", Comment, lambda uid: Comment.video_id.in_(_own_videos(uid))
        ),
        _delete_where("comments", Comment, lambda uid: Comment.author_id == uid),
        _delete_where("appeals", Appeal, lambda uid: Appeal.creator_id == uid),
        Step("sounds", _counter(Sound, _originals), _release_sounds),
        Step("videos", _counter(Video, lambda uid: Video.creator_id == uid), _delete_videos),
        _delete_where("pending counts", CounterDelta, lambda uid: CounterDelta.target_id == uid),
        _anonymise(
            "pending counts by",
            CounterDelta,
            lambda uid: CounterDelta.actor_id == uid,
            {"actor_id": None},
        ),
    ]


@dataclass
class Erasure:
    """What an erasure removed, step by step."""

    user_id: uuid.UUID
    done: bool = False
    removed: dict[str, int] = field(default_factory=dict)
    files: int = 0


Progress = Callable[[str, int], None]  # (step name, rows just handled)


def do_claim(db: Session, user_id: uuid.UUID, *, now: dt.datetime | None = None) -> bool:
    """Mark a deactivated account whose grace period is over as being erased (or find it so
    already: a job resuming). False if there is nothing to erase."""
    now = now or utcnow()
    status = db.scalar(sa.select(User.status).where(User.id == user_id).with_for_update())
    if status == ERASING:
        return True
    if status != DEACTIVATED:
        return False
    done = db.execute(
        sa.update(User)
        .where(User.id == user_id, User.status == DEACTIVATED, User.erase_after <= now)
        .values(status=ERASING)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(done) == 1


def plan(database: Database, user_id: uuid.UUID) -> dict[str, int]:
    """How many rows each step has left (for a progress bar)."""
    with database.unit_of_work(write=False) as db:
        totals: dict[str, int] = {}
        for step in steps():
            totals[step.name] = totals.get(step.name, 0) + step.count(db, user_id)
        return totals


def _batches(
    database: Database, storage: Storage, result: Erasure, step: Step, batch: int
) -> Iterator[int]:
    user_id = result.user_id
    while True:
        with database.unit_of_work() as db:
            db.info["erasure_storage"] = storage
            db.info["erasure_result"] = result
            if db.scalar(sa.select(User.status).where(User.id == user_id)) != ERASING:
                return  # erased meanwhile by another worker (or never claimed)
            n = step.run(db, user_id, batch)
        if n == 0:
            return
        yield n


def do_erase(
    database: Database,
    storage: Storage,
    user_id: uuid.UUID,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Erasure:
    """Erase a claimed account (see ``do_claim``): every step in batches, then its files and
    its row. Safe to run again at any point; a second run finds nothing left to do."""
    result = Erasure(user_id)
    with database.unit_of_work(write=False) as db:
        if db.scalar(sa.select(User.status).where(User.id == user_id)) != ERASING:
            return result
    for step in steps():
        for n in _batches(database, storage, result, step, batch):
            result.removed[step.name] = result.removed.get(step.name, 0) + n
            if progress is not None:
                progress(step.name, n)
    for prefix in storage_prefixes(user_id):
        result.files += storage.delete_prefix(prefix)
    with database.unit_of_work() as db:
        gone = db.execute(sa.delete(User).where(User.id == user_id, User.status == ERASING))
        result.done = _rowcount(gone) == 1
    log.info("account_erased", rows=sum(result.removed.values()), files=result.files)
    return result


def list_due(db: Session, *, now: dt.datetime | None = None, limit: int = 100) -> list[uuid.UUID]:
    """Accounts whose grace period is over, and erasures a dead worker left half done."""
    now = now or utcnow()
    return list(
        db.scalars(
            sa.select(User.id)
            .where(
                sa.or_(
                    sa.and_(User.status == DEACTIVATED, User.erase_after <= now),
                    User.status == ERASING,
                )
            )
            .order_by(User.erase_after)
            .limit(limit)
        )
    )
