"""Take a break: a creator pauses. Their notifications wait for their return
(``engagement.notifications.deliver_after``), their profile tells followers with a calm note, and
their standing in For You is kept (it never depended on how recently they posted).

A break runs from ``break_since`` through ``break_until``, its last day in the person's time zone
(None: until they end it). Nothing flips it off when that day is over: whether it still runs is
computed from the clock on every read.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.errors import Invalid
from playback.kit.time import utcnow

BREAK_MAX_DAYS = 90
BREAK_MESSAGE_MAX = 80
# What an open-ended break holds notifications until: its end, whenever the person ends it (then
# ``engagement.notifications.do_reschedule_held`` releases them). Far away, yet safe to convert to
# any time zone.
UNTIL_ENDED = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class OnBreak(Protocol):
    """What deciding about a break reads of a person (a ``User`` or a row of its columns)."""

    @property
    def break_since(self) -> dt.datetime | None: ...
    @property
    def break_until(self) -> dt.date | None: ...
    @property
    def time_zone(self) -> str: ...


@dataclass(frozen=True)
class BreakState:
    """A break as it is now; all empty when the person is not on one."""

    on_break: bool
    since: dt.datetime | None = None
    until: dt.date | None = None  # the last day (None: until they end it)
    ends_at: dt.datetime | None = None  # the moment it ends by itself (None: open-ended)
    message: str | None = None


NOT_ON_BREAK = BreakState(on_break=False)


def ends_at(person: OnBreak) -> dt.datetime | None:
    """When a dated break ends by itself: the midnight after its last day, in the person's time
    zone. None for an open-ended break (or none at all)."""
    if person.break_until is None:
        return None
    local = age_policy.zone(person.time_zone)
    midnight = dt.datetime.combine(person.break_until + dt.timedelta(days=1), dt.time(), local)
    return midnight.astimezone(dt.UTC)


def is_on_break(person: OnBreak, now: dt.datetime | None = None) -> bool:
    if person.break_since is None:
        return False
    end = ends_at(person)
    return end is None or (now or utcnow()) < end


def held_until(person: OnBreak, now: dt.datetime) -> dt.datetime | None:
    """How long the break holds what happens ``now``: its end (``UNTIL_ENDED`` when
    open-ended), or None when the person is not on a break."""
    if not is_on_break(person, now):
        return None
    return ends_at(person) or UNTIL_ENDED


def break_state(user: User, now: dt.datetime | None = None) -> BreakState:
    now = now or utcnow()
    if not is_on_break(user, now):
        return NOT_ON_BREAK
    return BreakState(
        on_break=True,
        since=user.break_since,
        until=user.break_until,
        ends_at=ends_at(user),
        message=user.break_message,
    )


# --- checks -------------------------------------------------------------------------------


def local_today(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(age_policy.zone(time_zone)).date()


def check_break_until(until: dt.date | None, time_zone: str, now: dt.datetime) -> dt.date | None:
    """A break's last day: today at the earliest, at most ``BREAK_MAX_DAYS`` ahead (in the
    person's time zone); None is open-ended."""
    if until is None:
        return None
    today = local_today(time_zone, now)
    if until < today:
        raise Invalid("A break cannot end in the past.", code="break_until_past")
    if until > today + dt.timedelta(days=BREAK_MAX_DAYS):
        raise Invalid(
            f"A break with an end date lasts at most {BREAK_MAX_DAYS} days; leave the date "
            "empty to take one until you end it.",
            code="break_too_long",
        )
    return until


def check_break_message(text: str | None) -> str | None:
    """One line for followers (NFC, trimmed), or None when empty. Control characters and
    invisible formatting are refused, as in bios and comment filter words."""
    if text is None:
        return None
    text = unicodedata.normalize("NFC", text.strip())
    if len(text) > BREAK_MESSAGE_MAX:
        raise Invalid(
            f"A break message has at most {BREAK_MESSAGE_MAX} characters.",
            code="break_message_too_long",
        )
    for ch in text:
        category = unicodedata.category(ch)
        # Cc: control characters (newlines too: one line); Cf: bidi overrides and other
        # invisible formatting, except the joiners emoji sequences need.
        if category == "Cc" or (category == "Cf" and ch not in "\u200d\ufe0f"):
            raise Invalid(
                "A break message is one line without control characters.",
                code="invalid_break_message",
            )
    return text or None


# --- changes ------------------------------------------------------------------------------


def do_start_break(
    db: Session, user: User, *, until: dt.date | None, message: str | None
) -> BreakState:
    """Start a break, or change the one running (its start stays). Everything is checked
    before anything changes. What already waits for the person is held as the new break says."""
    from playback.engagement.notifications import do_reschedule_held

    now = utcnow()
    until = check_break_until(until, user.time_zone, now)
    message = check_break_message(message)
    if not is_on_break(user, now):
        user.break_since = now
    user.break_until = until
    user.break_message = message
    db.flush()
    do_reschedule_held(db, user.id)
    return break_state(user, now)


def do_end_break(db: Session, user: User) -> BreakState:
    """End the break now (nothing to do when there is none): what it held is delivered, unless
    the person's quiet hours hold it a little longer."""
    from playback.engagement.notifications import do_reschedule_held

    user.break_since = None
    user.break_until = None
    user.break_message = None
    db.flush()
    do_reschedule_held(db, user.id)
    return NOT_ON_BREAK
