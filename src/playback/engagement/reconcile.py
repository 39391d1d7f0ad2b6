"""Folding deltas into caches, and checking every cache against the truth.

``do_flush_all`` applies pending counter deltas in batches (each batch one short transaction)
and turns the likes it sees into aggregated notifications and milestones. ``do_reconcile``
flushes, then recomputes every cached count from the rows that are the truth, reports the
drift it found and repairs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from playback.accounts.models import ACTIVE, User
from playback.db import Database
from playback.engagement import counters
from playback.engagement.models import Comment, CommentLike, Like, Save, Share, WatchEvent
from playback.media.models import Video
from playback.social.models import Follow


def _notify(db: Session, flushed: counters.Flushed) -> None:
    from playback.engagement import notifications

    creators: dict[uuid.UUID, uuid.UUID] = {}
    like_keys = [k for k in flushed.actors if k[0] == "video_likes"]
    if like_keys:
        ids = [k[1] for k in like_keys]
        creators = dict(
            db.execute(sa.select(Video.id, Video.creator_id).where(Video.id.in_(ids))).all()
        )
    for kind, video_id in like_keys:
        creator = creators.get(video_id)
        if creator is not None:
            notifications.do_notify_likes(db, creator, video_id, flushed.actors[(kind, video_id)])
    for (kind, user_id), (before, after) in flushed.changes.items():
        if kind == "user_total_likes":
            for milestone in notifications.milestones_crossed(before, after):
                notifications.do_notify_milestone(db, user_id, milestone)


def do_flush_all(database: Database, batch: int = 5000) -> int:
    """Fold every pending delta into the caches; returns how many were folded."""
    total = 0
    while True:
        with database.unit_of_work() as db:
            flushed = counters.flush(db, batch)
            if flushed.deltas:
                _notify(db, flushed)
        total += flushed.deltas
        if flushed.deltas < batch:
            return total


@dataclass
class Drift:
    counter: str
    rows: int = 0  # caches that differed from the truth
    total: int = 0  # sum of absolute differences
    examples: list[str] = field(default_factory=list)


def _truths() -> list[tuple[str, type, str, Callable[[], sa.ColumnElement[int]]]]:
    """(name, table, cached column, correlated truth) for every cached count.

    Counts others see leave out deactivated accounts: a like, save, follow, comment or comment
    like counts while the account that gave it is active (a reply also needs the author of the
    comment it answers to be). Views and shares are anonymous plays and always count."""

    replies, parent = aliased(Comment), aliased(Comment)
    liker, saver, follower, followee, author, parent_author, comment_liker, replier = (
        aliased(User) for _ in range(8)
    )

    def count(model: Any, *where: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    def active(who: Any, column: Any) -> sa.ColumnElement[bool]:
        return sa.exists().where(who.id == column, who.status == ACTIVE)

    return [
        (
            "video.like_count",
            Video,
            "like_count",
            lambda: count(Like, Like.video_id == Video.id, active(liker, Like.user_id)),
        ),
        (
            "video.save_count",
            Video,
            "save_count",
            lambda: count(Save, Save.video_id == Video.id, active(saver, Save.user_id)),
        ),
        (
            "video.share_count",
            Video,
            "share_count",
            lambda: count(Share, Share.video_id == Video.id),
        ),
        (
            "video.comment_count",
            Video,
            "comment_count",
            lambda: (
                sa.select(sa.func.count())
                .select_from(Comment)
                .outerjoin(parent, parent.id == Comment.parent_id)
                .where(
                    Comment.video_id == Video.id,
                    Comment.held.is_(False),
                    active(author, Comment.author_id),
                    sa.or_(Comment.parent_id.is_(None), active(parent_author, parent.author_id)),
                )
                .scalar_subquery()
            ),
        ),
        (
            "video.view_count",
            Video,
            "view_count",
            lambda: count(
                WatchEvent, WatchEvent.video_id == Video.id, WatchEvent.counted.is_(True)
            ),
        ),
        (
            "comment.like_count",
            Comment,
            "like_count",
            lambda: count(
                CommentLike,
                CommentLike.comment_id == Comment.id,
                active(comment_liker, CommentLike.user_id),
            ),
        ),
        (
            "comment.reply_count",
            Comment,
            "reply_count",
            lambda: count(
                replies,
                replies.parent_id == Comment.id,
                replies.held.is_(False),
                active(replier, replies.author_id),
            ),
        ),
        (
            "user.total_likes",
            User,
            "total_likes",
            lambda: (
                sa.select(sa.func.count())
                .select_from(Like)
                .join(Video, Video.id == Like.video_id)
                .where(Video.creator_id == User.id, active(liker, Like.user_id))
                .scalar_subquery()
            ),
        ),
        (
            "user.follower_count",
            User,
            "follower_count",
            lambda: count(
                Follow,
                Follow.followee_id == User.id,
                Follow.status == "accepted",
                active(follower, Follow.follower_id),
            ),
        ),
        (
            "user.following_count",
            User,
            "following_count",
            lambda: count(
                Follow,
                Follow.follower_id == User.id,
                Follow.status == "accepted",
                active(followee, Follow.followee_id),
            ),
        ),
        (
            "user.video_count",
            User,
            "video_count",
            lambda: count(
                Video, Video.creator_id == User.id, Video.status.in_(("ready", "withdrawn"))
            ),
        ),
    ]


def do_reconcile(database: Database, *, repair: bool = True) -> list[Drift]:
    """Flush pending deltas, then compare every cache with the truth (and repair it)."""
    do_flush_all(database)
    report = []
    for name, table, column, truth in _truths():
        drift = Drift(name)
        with database.unit_of_work() as db:
            cached = getattr(table, column)
            expected = truth().label("expected")
            rows = db.execute(
                sa.select(table.id, cached, expected).where(cached != truth())  # type: ignore[attr-defined]
            ).all()
            for row_id, have, want in rows:
                drift.rows += 1
                drift.total += abs(int(have) - int(want))
                if len(drift.examples) < 5:
                    drift.examples.append(f"{row_id}: {have} → {want}")
                if repair:
                    db.execute(sa.update(table).where(table.id == row_id).values({column: want}))  # type: ignore[attr-defined]
        report.append(drift)
    return report
