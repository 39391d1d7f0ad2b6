"""Follows, follow requests and blocks.

Following a private account creates a pending request the account approves or declines. A block
removes follows both ways and hides each from the other everywhere (404, never 403). Follower and
following counts move through counter deltas (see engagement/counters.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import ACTIVE, User
from playback.engagement import counters
from playback.errors import Invalid, NotFound
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.social.models import Block, Follow


def is_approved_follower(db: Session, follower_id: uuid.UUID, followee_id: uuid.UUID) -> bool:
    return (
        db.scalar(
            sa.select(sa.literal(True)).where(
                Follow.follower_id == follower_id,
                Follow.followee_id == followee_id,
                Follow.status == "accepted",
            )
        )
        is not None
    )


def are_friends(db: Session, a: uuid.UUID, b: uuid.UUID) -> bool:
    """Whether two people follow each other (both follows accepted)."""
    return is_approved_follower(db, a, b) and is_approved_follower(db, b, a)


def age_policy_allows(
    db: Session, rule: Callable[..., bool], owner: User, someone: User | None
) -> bool:
    """Ask an age-policy rule about someone and a creator's videos (``age_policy.may_remix``,
    ``may_comment``), looking their friendship up only when the answer depends on it."""
    if someone is None:
        return False
    is_owner = someone.id == owner.id
    if rule(owner, is_owner=is_owner, is_friend=False):
        return True
    return bool(rule(owner, is_owner=is_owner, is_friend=are_friends(db, someone.id, owner.id)))


def friends_among(db: Session, user_id: uuid.UUID, others: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``others`` are ``user_id``'s friends (mutual accepted follows), in one query."""
    if not others:
        return set()
    back = sa.select(Follow.follower_id).where(
        Follow.followee_id == user_id, Follow.status == "accepted"
    )
    return set(
        db.scalars(
            sa.select(Follow.followee_id).where(
                Follow.follower_id == user_id,
                Follow.status == "accepted",
                Follow.followee_id.in_(others),
                Follow.followee_id.in_(back),
            )
        )
    )


def follow_status(db: Session, follower_id: uuid.UUID, followee_id: uuid.UUID) -> str | None:
    """ "accepted", "pending" or None."""
    return db.scalar(
        sa.select(Follow.status).where(
            Follow.follower_id == follower_id, Follow.followee_id == followee_id
        )
    )


def is_blocked_either_way(db: Session, a: uuid.UUID, b: uuid.UUID) -> bool:
    return (
        db.scalar(
            sa.select(sa.literal(True)).where(
                sa.or_(
                    sa.and_(Block.blocker_id == a, Block.blocked_id == b),
                    sa.and_(Block.blocker_id == b, Block.blocked_id == a),
                )
            )
        )
        is not None
    )


_BLOCKED_EITHER_WAY = (
    sa.select(Block.blocked_id)
    .where(Block.blocker_id == sa.bindparam("user"))
    .union(sa.select(Block.blocker_id).where(Block.blocked_id == sa.bindparam("user")))
)


def blocked_ids(db: Session, user_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone ``user_id`` blocked or was blocked by (hidden from each other)."""
    return {row[0] for row in db.execute(_BLOCKED_EITHER_WAY, {"user": user_id})}


def blocked_select(user_id: uuid.UUID) -> sa.CompoundSelect[uuid.UUID]:
    """The same set as a subquery, for filtering feeds in SQL."""
    return (
        sa.select(Block.blocked_id)
        .where(Block.blocker_id == user_id)
        .union(sa.select(Block.blocker_id).where(Block.blocked_id == user_id))
    )


def _count_follow(db: Session, follower_id: uuid.UUID, followee_id: uuid.UUID, delta: int) -> None:
    counters.add(db, "user_followers", followee_id, delta, actor_id=follower_id)
    counters.add(db, "user_following", follower_id, delta)


def do_follow(
    db: Session, follower: User, followee: User, via_video_id: uuid.UUID | None = None
) -> str:
    """Follow (idempotent). Returns the resulting status: "accepted" or "pending".
    ``via_video_id``: the followee's video whose follow button was pressed (the studio counts
    the followers each video brought); any other video is ignored."""
    from playback.engagement.notifications import do_notify

    if follower.id == followee.id:
        raise Invalid("You cannot follow yourself.", code="cannot_follow_self")
    if is_blocked_either_way(db, follower.id, followee.id):
        raise NotFound("user")
    existing = follow_status(db, follower.id, followee.id)
    if existing is not None:
        return existing
    status = "pending" if followee.private else "accepted"
    if via_video_id is not None:
        via_video_id = db.scalar(
            sa.select(Video.id).where(Video.id == via_video_id, Video.creator_id == followee.id)
        )
    try:
        with db.begin_nested():
            db.add(
                Follow(
                    follower_id=follower.id,
                    followee_id=followee.id,
                    status=status,
                    via_video_id=via_video_id,
                )
            )
    except sa.exc.IntegrityError:  # a concurrent request did it first
        return follow_status(db, follower.id, followee.id) or status
    if status == "accepted":
        _count_follow(db, follower.id, followee.id, +1)
        do_notify(db, followee.id, "follow", actor_id=follower.id)
    else:
        do_notify(db, followee.id, "follow_request", actor_id=follower.id)
    return status


def do_unfollow(db: Session, follower: User, followee: User) -> None:
    """Stop following, or withdraw a request (idempotent)."""
    row = db.execute(
        sa.delete(Follow)
        .where(Follow.follower_id == follower.id, Follow.followee_id == followee.id)
        .returning(Follow.status)
    ).first()
    if row is not None and row[0] == "accepted":
        _count_follow(db, follower.id, followee.id, -1)


def do_answer_request(db: Session, followee: User, follower_id: uuid.UUID, approve: bool) -> None:
    """Approve or decline a pending follow request."""
    from playback.engagement.notifications import do_notify

    if approve:
        result = db.execute(
            sa.update(Follow)
            .where(
                Follow.follower_id == follower_id,
                Follow.followee_id == followee.id,
                Follow.status == "pending",
            )
            .values(status="accepted", created_at=utcnow())
        )
        if result.rowcount:  # type: ignore[attr-defined]
            _count_follow(db, follower_id, followee.id, +1)
            do_notify(db, follower_id, "follow_accepted", actor_id=followee.id)
            return
    else:
        result = db.execute(
            sa.delete(Follow).where(
                Follow.follower_id == follower_id,
                Follow.followee_id == followee.id,
                Follow.status == "pending",
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return
    raise NotFound("follow_request")


def do_block(db: Session, blocker: User, blocked: User) -> None:
    """Block (idempotent): follows both ways end, and each disappears for the other."""
    if blocker.id == blocked.id:
        raise Invalid("You cannot block yourself.", code="cannot_block_self")
    if db.get(Block, (blocker.id, blocked.id)) is None:
        try:
            with db.begin_nested():
                db.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))
        except sa.exc.IntegrityError:
            pass
    do_unfollow(db, blocker, blocked)
    do_unfollow(db, blocked, blocker)


def do_unblock(db: Session, blocker: User, blocked: User) -> None:
    db.execute(
        sa.delete(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    )


def list_follows(
    db: Session,
    user: User,
    *,
    direction: str,
    status: str = "accepted",
    before: tuple[str, str] | None,
    limit: int,
) -> list[tuple[User, Follow]]:
    """Followers (direction="followers") or followed accounts ("following"), newest first,
    keyset-paginated on (created_at, other id)."""
    if direction == "followers":
        other, mine = Follow.follower_id, Follow.followee_id
    else:
        other, mine = Follow.followee_id, Follow.follower_id
    query = (
        sa.select(User, Follow)
        .join(Follow, other == User.id)
        .where(mine == user.id, Follow.status == status, User.status == ACTIVE)
    )
    if before is not None:
        import datetime as dt

        at, oid = dt.datetime.fromisoformat(before[0]), uuid.UUID(before[1])
        query = query.where(
            sa.tuple_(Follow.created_at, other) < sa.tuple_(sa.literal(at), sa.literal(oid))
        )
    query = query.order_by(Follow.created_at.desc(), other.desc()).limit(limit)
    return [(row[0], row[1]) for row in db.execute(query)]
