"""The demo world: a few accounts that show the platform on first start. Seeding is idempotent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from playback.accounts import service
from playback.kit.time import today

DEMO_PASSWORD = "playback-demo"  # noqa: S105 - printed by `playback demo` on purpose


@dataclass(frozen=True)
class DemoLogin:
    handle: str
    password: str
    note: str


@dataclass(frozen=True)
class DemoAccount:
    handle: str
    display_name: str
    bio: str
    age: int
    country: str
    note: str


DEMO_ACCOUNTS = [
    DemoAccount("maya.sings", "Maya", "Playbacks every Friday 🎤", 24, "DE", "adult creator"),
    DemoAccount("leo.dance", "Leo", "Dance tutorials, slow then fast", 31, "US", "adult creator"),
    DemoAccount("nora.cooks", "Nora", "One-pan dinners in 60 seconds", 45, "GB", "adult creator"),
    DemoAccount("sam.viewer", "Sam", "", 17, "FR", "16–17: private by default"),
    DemoAccount("jun.teen", "Jun", "", 14, "JP", "13–15: always private"),
]


def _birthdate_for_age(years: int) -> dt.date:
    now = today()
    # Half a year past the birthday, so the age holds for a while.
    return now.replace(year=now.year - years) - dt.timedelta(days=180)


def seed_demo(db: Session) -> list[DemoLogin]:
    logins = []
    for account in DEMO_ACCOUNTS:
        user = service.get_user_by_handle(db, account.handle)
        if user is None:
            user = service.do_signup(
                db,
                handle=account.handle,
                password=DEMO_PASSWORD,
                birthdate=_birthdate_for_age(account.age),
                country=account.country,
            )
            service.do_update_profile(db, user, display_name=account.display_name, bio=account.bio)
        logins.append(DemoLogin(account.handle, DEMO_PASSWORD, account.note))
    return logins
