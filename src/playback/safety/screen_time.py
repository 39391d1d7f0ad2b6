"""Screen time: a daily limit on watching (an hour by default under 18, see ``age_policy``),
a break screen in the feeds once it is used up, a passcode that lifts it for the rest of the
day, and a weekly summary.

Time watched is the sum of the person's watch events (what the player reports), counted from
local midnight in their time zone — the same rows analytics and recommendations read, so the
figure is never estimated.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.accounts.passwords import hash_password, verify_password
from playback.engagement.models import WatchEvent
from playback.errors import Forbidden, Invalid
from playback.kit.time import utcnow

PASSCODE = re.compile(r"\d{4,6}")
MIN_LIMIT, MAX_LIMIT = 15, 24 * 60


@dataclass(frozen=True)
class Day:
    date: dt.date
    minutes: int


@dataclass(frozen=True)
class BreakScreen:
    """What the feed answers instead of videos once the day's limit is used up."""

    used_minutes: int
    limit_minutes: int
    has_passcode: bool


@dataclass(frozen=True)
class ScreenTime:
    limit_minutes: int | None  # None: no limit
    used_today_minutes: int
    on_break: bool
    unlocked_today: bool
    has_passcode: bool
    days: list[Day]  # the last 7 days, today last
    week_minutes: int


def _local_today(user: User, now: dt.datetime) -> tuple[dt.date, dt.tzinfo]:
    tz = age_policy.zone(user.time_zone)
    return now.astimezone(tz).date(), tz


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def _watched_ms(db: Session, user: User, since: dt.datetime, until: dt.datetime) -> int:
    return int(
        db.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(WatchEvent.watched_ms), 0)).where(
                WatchEvent.viewer_id == user.id,
                WatchEvent.created_at >= since,
                WatchEvent.created_at < until,
            )
        )
        or 0
    )


def _paused(user: User, today: dt.date, used_ms: int) -> BreakScreen | None:
    """The break screen for ``used_ms`` watched today, if the limit is reached and the
    passcode was not entered today."""
    limit = age_policy.daily_minutes(user)
    if not limit or user.screen_unlocked_on == today or used_ms < limit * 60_000:
        return None
    return BreakScreen(used_ms // 60_000, limit, user.screen_passcode_hash is not None)


def break_screen(
    db: Session, user: User | None, now: dt.datetime | None = None
) -> BreakScreen | None:
    """The break screen, if ``user`` has used up today's limit and not entered their
    passcode today; None otherwise (and always, without a query, for people without a limit)."""
    if user is None or not age_policy.daily_minutes(user):
        return None
    now = now or utcnow()
    today, tz = _local_today(user, now)
    if user.screen_unlocked_on == today:
        return None
    return _paused(user, today, _watched_ms(db, user, _midnight(today, tz), now))


def get_screen_time(db: Session, user: User, now: dt.datetime | None = None) -> ScreenTime:
    now = now or utcnow()
    today, tz = _local_today(user, now)
    watched = []  # milliseconds per day, the last 7 days, today last
    for back in range(6, -1, -1):
        day = today - dt.timedelta(days=back)
        end = min(_midnight(day + dt.timedelta(days=1), tz), now)
        watched.append((day, _watched_ms(db, user, _midnight(day, tz), end)))
    days = [Day(day, ms // 60_000) for day, ms in watched]
    return ScreenTime(
        limit_minutes=age_policy.daily_minutes(user) or None,
        used_today_minutes=days[-1].minutes,
        on_break=_paused(user, today, watched[-1][1]) is not None,
        unlocked_today=user.screen_unlocked_on == today,
        has_passcode=user.screen_passcode_hash is not None,
        days=days,
        week_minutes=sum(d.minutes for d in days),
    )


def check_limit(minutes: int | None) -> int | None:
    """A daily limit in minutes (15 to 1440), 0 for none, or None for the age band's default."""
    if minutes is None or minutes == 0:
        return minutes
    if not MIN_LIMIT <= minutes <= MAX_LIMIT:
        raise Invalid(
            f"A daily limit is {MIN_LIMIT} to {MAX_LIMIT} minutes (0: none).",
            code="invalid_screen_time",
        )
    return minutes


def _is_looser(user: User, minutes: int | None) -> bool:
    """Whether a new limit would allow more than the one in force."""
    now_limit = age_policy.daily_minutes(user) or None
    after = minutes if minutes is not None else age_policy.rules_of(user).daily_minutes
    after = after or None
    if now_limit is None:
        return False
    return after is None or after > now_limit


def do_set_limit(db: Session, user: User, minutes: int | None) -> None:
    """Set one's own daily limit. Under 18, a limit can be loosened only with the passcode
    lifted by the person themselves — and never while a parent manages it (family pairing)."""
    from playback.safety.family import check_teen_may_change

    minutes = check_limit(minutes)
    if age_policy.age_band(user.birthdate) is not age_policy.AgeBand.ADULT:
        check_teen_may_change(db, user, screen_time=minutes)
        if minutes == 0:
            raise Forbidden("Under 18 there is always a daily limit.", code="limit_required")
    user.screen_time_minutes = minutes
    db.flush()


def check_passcode(passcode: str) -> str:
    if not PASSCODE.fullmatch(passcode):
        raise Invalid("A passcode is 4 to 6 digits.", code="invalid_passcode")
    return passcode


def do_set_passcode(db: Session, user: User, passcode: str, current: str | None) -> None:
    """Choose the passcode; changing it takes the current one."""
    check_passcode(passcode)
    if user.screen_passcode_hash is not None and not verify_password(
        user.screen_passcode_hash, current or ""
    ):
        raise Forbidden("The current passcode is not right.", code="wrong_passcode")
    user.screen_passcode_hash = hash_password(passcode)
    db.flush()


def do_unlock(db: Session, user: User, passcode: str, now: dt.datetime | None = None) -> None:
    """Lift the break screen for the rest of the (local) day. Someone without a passcode yet
    chooses it here: the break screen asks for it either way, so the pause is deliberate."""
    check_passcode(passcode)
    if user.screen_passcode_hash is None:
        user.screen_passcode_hash = hash_password(passcode)
    elif not verify_password(user.screen_passcode_hash, passcode):
        raise Forbidden("The passcode is not right.", code="wrong_passcode")
    user.screen_unlocked_on = _local_today(user, now or utcnow())[0]
    db.flush()


def list_weekly_summaries(db: Session, now: dt.datetime | None = None) -> list[tuple[User, int]]:
    """Everyone under 18 who watched last week (the 7 days before today, UTC), with their
    minutes: the Monday summary."""
    now = now or utcnow()
    end = dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC)
    start = end - dt.timedelta(days=7)
    adult_born_before = age_policy.born_by(18)
    rows = db.execute(
        sa.select(User, sa.func.sum(WatchEvent.watched_ms))
        .join(WatchEvent, WatchEvent.viewer_id == User.id)
        .where(
            WatchEvent.created_at >= start,
            WatchEvent.created_at < end,
            User.birthdate > adult_born_before,  # under 18 today
        )
        .group_by(User.id)
    ).all()
    return [(user, int(ms) // 60_000) for user, ms in rows]
