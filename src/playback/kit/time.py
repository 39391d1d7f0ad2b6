"""The clock. Everything asks here for "now" so that tests can move time (birthdays, expiry)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

UTC = dt.UTC

_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)  # noqa: E731


def utcnow() -> dt.datetime:
    return _now()


def today() -> dt.date:
    """Today's date in UTC."""
    return _now().date()


def set_clock(now: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _now  # noqa: PLW0603
    _now = now if now is not None else (lambda: dt.datetime.now(UTC))


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
