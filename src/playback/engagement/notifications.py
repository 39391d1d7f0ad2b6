"""Notifications: creating them (likes gathered per video, milestones), listing them for their
recipient, marking them read, and the small state the live stream polls.

People one has blocked, or been blocked by, never show up: their notifications stay in the table
(an unblock brings them back) but every read here leaves them out. A notification made in a
teenager's quiet hours or during the recipient's break is kept but held (``deliver_after``):
every read leaves it out until then (``deliver_after`` decides from both rules).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from playback.accounts import age_policy, breaks
from playback.accounts.models import ACTIVE, User
from playback.engagement.models import Notification
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.social.service import blocked_ids, blocked_select

# Total likes across a creator's videos worth celebrating.
MILESTONES = (1_000, 10_000, 100_000, 1_000_000)


def do_notify(
    db: Session,
    user_id: uuid.UUID,
    kind: str,
    *,
    actor_id: uuid.UUID | None = None,
    video_id: uuid.UUID | None = None,
    comment_id: uuid.UUID | None = None,
    value: int | None = None,
) -> None:
    """Tell ``user_id`` about something; nobody is told about their own actions. In a
    teenager's quiet hours, or during the recipient's break, it waits (``deliver_after``)."""
    if actor_id is not None and actor_id == user_id:
        return
    db.add(
        Notification(
            id=new_id(),
            user_id=user_id,
            kind=kind,
            actor_id=actor_id,
            video_id=video_id,
            comment_id=comment_id,
            value=value,
            deliver_after=held_until(db, user_id, utcnow()),
        )
    )


class Recipient(age_policy.Person, breaks.OnBreak, Protocol):
    """What deciding when to deliver reads of a person."""


def deliver_after(person: Recipient, now: dt.datetime) -> dt.datetime | None:
    """When a notification made ``now`` for ``person`` may be shown, or None for at once: the
    one place both holds meet. A break holds it until the break ends (an open-ended one until
    the person ends it); the teen quiet hours then hold it until the morning if the break
    ends inside them, or if it is quiet now."""
    at = breaks.held_until(person, now) or now
    if at >= breaks.UNTIL_ENDED:
        return at  # when the person ends the break, ``do_reschedule_held`` decides again
    at = age_policy.quiet_until(person, person.time_zone, at) or at
    return at if at > now else None


_RECIPIENT = sa.select(
    User.birthdate, User.country, User.time_zone, User.break_since, User.break_until
).where(User.id == sa.bindparam("user_id"))


def held_until(db: Session, user_id: uuid.UUID, now: dt.datetime) -> dt.datetime | None:
    """``deliver_after`` for a notification made now for ``user_id``."""
    row = db.execute(_RECIPIENT, {"user_id": user_id}).first()
    if row is None:
        return None
    return deliver_after(row, now)  # a row of the columns ``Recipient`` names


def do_reschedule_held(db: Session, user_id: uuid.UUID) -> None:
    """Once a person's break starts, changes or ends: everything still held for them waits as
    the rules now say — the new break's end, or (a break ended) at once, or the end of quiet
    hours if it is quiet now."""
    now = utcnow()
    db.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.deliver_after > now)
        .values(deliver_after=held_until(db, user_id, now) or now)
    )


def do_notify_likes(
    db: Session, creator_id: uuid.UUID, video_id: uuid.UUID, actor_ids: list[uuid.UUID]
) -> None:
    """Gather new likes of a video (``actor_ids`` newest last, repeats allowed) into the
    creator's one unread "like" notification for it, or start one. A notification already read
    is left alone. The creator's own likes and likes from people blocked either way are not
    told (a blocked newest actor would hide everyone else's likes with it)."""
    actors = [a for a in actor_ids if a != creator_id]
    if actors:
        hidden = blocked_ids(db, creator_id)
        actors = [a for a in actors if a not in hidden]
    if not actors:
        return
    added, newest = len(set(actors)), actors[-1]
    # Lock the video (the counter flush has already updated it in this transaction, so this
    # adds no wait there): two flushers never both start an unread notification for it. A
    # deleted video gets none (its notification would point at nothing).
    query = sa.select(Video.id).where(Video.id == video_id)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    if db.scalar(query) is None:
        return
    now = utcnow()
    unread = db.scalar(
        sa.select(Notification.id)
        .where(
            Notification.user_id == creator_id,
            Notification.kind == "like",
            Notification.video_id == video_id,
            Notification.read_at.is_(None),
        )
        .order_by(Notification.updated_at.desc())
        .limit(1)
    )
    held = held_until(db, creator_id, now)
    if unread is not None:
        # Guarded on read_at: if the creator reads it meanwhile, a new one starts instead. In
        # quiet hours (or a break) the news waits, like a new notification.
        values: dict[str, object] = {
            "count": Notification.count + added,
            "actor_id": newest,
            "updated_at": now,
        }
        if held is not None:
            values["deliver_after"] = held
        result = db.execute(
            sa.update(Notification)
            .where(Notification.id == unread, Notification.read_at.is_(None))
            .values(values)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return
    db.add(
        Notification(
            id=new_id(),
            user_id=creator_id,
            kind="like",
            actor_id=newest,
            video_id=video_id,
            count=added,
            created_at=now,
            updated_at=now,
            deliver_after=held,
        )
    )


def milestones_crossed(before: int, after: int) -> list[int]:
    """The milestones a total passed on its way up from ``before`` to ``after``."""
    return [m for m in MILESTONES if before < m <= after]


def do_notify_milestone(db: Session, user_id: uuid.UUID, milestone: int) -> None:
    """Celebrate a total-likes milestone, once: a total that dips and climbs back is not news."""
    told = db.scalar(
        sa.select(sa.literal(True)).where(
            Notification.user_id == user_id,
            Notification.kind == "milestone",
            Notification.value == milestone,
        )
    )
    if told is None:
        do_notify(db, user_id, "milestone", value=milestone)


def describe(notification: Notification, actor: User | None) -> str:
    """The sentence shown for a notification."""
    name = actor.handle if actor is not None else "Someone"
    kind = notification.kind
    if kind == "like":
        others = notification.count - 1
        if others <= 0:
            return f"{name} liked your video"
        return f"{name} and {others:,} other{'s' if others > 1 else ''} liked your video"
    if kind == "milestone":
        return f"Your videos reached {notification.value or 0:,} likes 🎉"
    minutes = notification.value or 0
    moderation = {
        "screen_time_summary": f"Last week you watched for {minutes // 60} h {minutes % 60} min.",
        "comment_held": "A comment on your video matched your filter: approve or delete it.",
        "video_removed": "Your video was taken down for breaking the rules. You can appeal once.",
        "video_restricted": "Your video will not be recommended: it breaks the feed's rules.",
        "video_restored": "Your appeal was granted: your video is back.",
        "appeal_denied": "Your appeal was reviewed: the video stays down.",
    }
    if kind in moderation:
        return moderation[kind]
    sentences = {
        "comment": "commented on your video",
        "reply": "replied to your comment",
        "mention": "mentioned you",
        "follow": "started following you",
        "follow_request": "asked to follow you",
        "follow_accepted": "accepted your follow request",
        "family_linked": "linked your account through family pairing",
        "family_changed": "changed your family pairing settings",
        "family_unlinked": "ended family pairing",
    }
    if kind in sentences:
        return f"{name} {sentences[kind]}"
    return "You have a new notification"


def _visible_to(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """The recipient's notifications, without those from people blocked either way or from
    accounts no longer active, and without those held (quiet hours, a break)."""
    actor = aliased(User)
    return sa.and_(
        Notification.user_id == user_id,
        sa.or_(Notification.deliver_after.is_(None), Notification.deliver_after <= utcnow()),
        sa.or_(
            Notification.actor_id.is_(None),
            sa.and_(
                Notification.actor_id.not_in(blocked_select(user_id)),
                sa.exists().where(actor.id == Notification.actor_id, actor.status == ACTIVE),
            ),
        ),
    )


def list_notifications(
    db: Session,
    user_id: uuid.UUID,
    *,
    before: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Notification, User | None]]:
    """A recipient's notifications with their actors, most recently updated first,
    keyset-paginated on (updated_at, id)."""
    query = (
        sa.select(Notification, User)
        .outerjoin(User, User.id == Notification.actor_id)
        .where(_visible_to(user_id))
    )
    if before is not None:
        at, nid = before
        query = query.where(
            sa.or_(
                Notification.updated_at < at,
                sa.and_(Notification.updated_at == at, Notification.id < nid),
            )
        )
    query = query.order_by(Notification.updated_at.desc(), Notification.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in db.execute(query)]


def count_unread(db: Session, user_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(_visible_to(user_id), Notification.read_at.is_(None))
        )
        or 0
    )


def do_mark_read(db: Session, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None) -> None:
    """Mark the recipient's notifications ``ids`` read (all of them when None). Ids that are
    not theirs, already read, or still held (quiet hours, a break: not seen yet) are passed
    over."""
    if ids is not None and not ids:
        return
    now = utcnow()
    query = sa.update(Notification).where(
        Notification.user_id == user_id,
        Notification.read_at.is_(None),
        sa.or_(Notification.deliver_after.is_(None), Notification.deliver_after <= now),
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(set(ids))))
    db.execute(query.values(read_at=now))


@dataclass(frozen=True)
class LiveState:
    """What the live stream watches: a change in either is worth an event."""

    unread_count: int
    newest: tuple[dt.datetime, uuid.UUID] | None


def get_live_state(db: Session, user_id: uuid.UUID) -> LiveState:
    newest = db.execute(
        sa.select(Notification.updated_at, Notification.id)
        .where(_visible_to(user_id))
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .limit(1)
    ).first()
    return LiveState(
        unread_count=count_unread(db, user_id),
        newest=(newest[0], newest[1]) if newest is not None else None,
    )
