"""Deactivating an account, and bringing it back.

Deactivation hides the person at once: their ready videos become ``withdrawn``, their comments
and profile drop out of every list (each list reads only active accounts), their sessions end,
and everything they added to counts others see (likes, follows both ways, comments and replies,
saves, comment likes) is taken back through counter deltas. Logging in again before
``erase_after`` reverses each step exactly. Views and shares stay counted: they are anonymous
plays, like an anonymous viewer's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from playback.accounts.models import ACTIVE, DEACTIVATED, AuthSession, User
from playback.accounts.passwords import verify_password
from playback.config import Settings
from playback.engagement.models import Comment, CommentLike, CounterDelta, Like, Save
from playback.errors import Conflict, Forbidden
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.social.models import Follow


def is_active(user: User) -> bool:
    return user.status == ACTIVE


def _deltas(kind: str, target: Any, delta: Any, now: dt.datetime) -> sa.Select[Any]:
    """Rows for ``counter_deltas``: (kind, target, delta, created_at)."""
    return sa.select(
        sa.literal(kind, sa.String()).label("kind"),
        target.label("target_id"),
        delta.label("delta"),
        sa.literal(now, CounterDelta.__table__.c.created_at.type).label("created_at"),
    )


def _insert_deltas(db: Session, select: sa.Select[Any]) -> None:
    db.execute(
        sa.insert(CounterDelta).from_select(["kind", "target_id", "delta", "created_at"], select)
    )


def do_shift_contributions(db: Session, user_id: uuid.UUID, sign: int) -> None:
    """Take back (``sign=-1``) or give back (``+1``) everything ``user_id`` adds to counts
    others see. Called while the account counts as active: before deactivating, after
    reactivating. Every count then equals its rows from active accounts only (see
    ``engagement.reconcile``)."""
    now = utcnow()
    one = sa.literal(sign, sa.Integer())
    # Likes given: the video's likes, and its creator's total.
    _insert_deltas(
        db, _deltas("video_likes", Like.video_id, one, now).where(Like.user_id == user_id)
    )
    _insert_deltas(
        db,
        _deltas("user_total_likes", Video.creator_id, sign * sa.func.count(), now)
        .select_from(Like)
        .join(Video, Video.id == Like.video_id)
        .where(Like.user_id == user_id)
        .group_by(Video.creator_id),
    )
    _insert_deltas(
        db, _deltas("video_saves", Save.video_id, one, now).where(Save.user_id == user_id)
    )
    # Follows both ways: the other side's count (this account's own counts are its own).
    accepted = Follow.status == "accepted"
    _insert_deltas(
        db,
        _deltas("user_followers", Follow.followee_id, one, now).where(
            Follow.follower_id == user_id, accepted
        ),
    )
    _insert_deltas(
        db,
        _deltas("user_following", Follow.follower_id, one, now).where(
            Follow.followee_id == user_id, accepted
        ),
    )
    # Comments: a video counts a comment while its author is active and, for a reply, while
    # the author of the comment it answers is active too.
    parent, parent_author, author = aliased(Comment), aliased(User), aliased(User)
    own = (
        _deltas("video_comments", Comment.video_id, sign * sa.func.count(), now)
        .select_from(Comment)
        .outerjoin(parent, parent.id == Comment.parent_id)
        .outerjoin(parent_author, parent_author.id == parent.author_id)
        .where(
            Comment.author_id == user_id,
            Comment.held.is_(False),
            sa.or_(Comment.parent_id.is_(None), parent_author.status == ACTIVE),
        )
        .group_by(Comment.video_id)
    )
    _insert_deltas(db, own)
    answers = (
        _deltas("video_comments", Comment.video_id, sign * sa.func.count(), now)
        .select_from(Comment)
        .join(parent, parent.id == Comment.parent_id)
        .join(author, author.id == Comment.author_id)
        .where(
            parent.author_id == user_id,
            Comment.author_id != user_id,
            Comment.held.is_(False),
            author.status == ACTIVE,
        )
        .group_by(Comment.video_id)
    )
    _insert_deltas(db, answers)
    # Comment likes and replies are counted on the comment row itself.
    db.execute(
        sa.update(Comment)
        .where(
            Comment.id.in_(sa.select(CommentLike.comment_id).where(CommentLike.user_id == user_id))
        )
        .values(like_count=Comment.like_count + sign)
        .execution_options(synchronize_session=False)
    )
    replies = aliased(Comment)
    mine = (
        sa.select(sa.func.count())
        .select_from(replies)
        .where(
            replies.parent_id == Comment.id,
            replies.author_id == user_id,
            replies.held.is_(False),
        )
        .scalar_subquery()
    )
    db.execute(
        sa.update(Comment)
        .where(
            Comment.id.in_(
                sa.select(replies.parent_id).where(
                    replies.author_id == user_id,
                    replies.parent_id.is_not(None),
                    replies.held.is_(False),
                )
            )
        )
        .values(reply_count=Comment.reply_count + sign * mine)
        .execution_options(synchronize_session=False)
    )


def do_deactivate(db: Session, settings: Settings, user: User, password: str) -> dt.datetime:
    """Hide the account at once and schedule its erasure; returns when it will be erased."""
    if not verify_password(user.password_hash, password):
        raise Forbidden("The password is not right.", code="wrong_password")
    # The row lock makes a second deactivation (another tab, a retry) wait, then see it done.
    status = db.scalar(sa.select(User.status).where(User.id == user.id).with_for_update())
    if status != ACTIVE:
        raise Conflict("This account is already deactivated.", code="already_deactivated")
    do_shift_contributions(db, user.id, -1)
    db.execute(
        sa.update(Video)
        .where(Video.creator_id == user.id, Video.status == "ready")
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )
    erase_after = utcnow() + dt.timedelta(days=settings.erase_after_days)
    db.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(status=DEACTIVATED, erase_after=erase_after)
        .execution_options(synchronize_session=False)
    )
    db.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    db.expire(user)
    return erase_after


def do_reactivate(db: Session, user: User) -> bool:
    """Bring a deactivated account back (its owner logged in before the erasure); returns
    whether anything changed."""
    done = db.execute(
        sa.update(User)
        .where(User.id == user.id, User.status == DEACTIVATED)
        .values(status=ACTIVE, erase_after=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    db.execute(
        sa.update(Video)
        .where(Video.creator_id == user.id, Video.status == "withdrawn")
        .values(status="ready")
        .execution_options(synchronize_session=False)
    )
    do_shift_contributions(db, user.id, +1)
    db.expire(user)
    return True
