"""Screen-time routes: one's daily limit, the passcode, lifting the break screen, the week."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from playback.accounts.auth import CurrentUser
from playback.errors import error_responses
from playback.kit.web import DB
from playback.safety import screen_time

router = APIRouter(prefix="/api/v1", tags=["screen time"])


class DayOut(BaseModel):
    date: dt.date
    minutes: int


class ScreenTimeOut(BaseModel):
    """Today against the daily limit, and the last 7 days (today last)."""

    limit_minutes: int | None  # None: no limit
    used_today_minutes: int
    on_break: bool  # the feeds show the break screen until the passcode is entered
    unlocked_today: bool
    has_passcode: bool
    days: list[DayOut]
    week_minutes: int

    @classmethod
    def of(cls, st: screen_time.ScreenTime) -> ScreenTimeOut:
        return cls(
            limit_minutes=st.limit_minutes,
            used_today_minutes=st.used_today_minutes,
            on_break=st.on_break,
            unlocked_today=st.unlocked_today,
            has_passcode=st.has_passcode,
            days=[DayOut(date=d.date, minutes=d.minutes) for d in st.days],
            week_minutes=st.week_minutes,
        )


class LimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily_minutes: Annotated[StrictInt | None, Field(ge=0, le=2**31 - 1)] = Field(
        description="15 to 1440; 0: no limit (adults only); null: your age's default"
    )


class PasscodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passcode: Annotated[StrictStr, Field(max_length=64, examples=["4821"])]
    current: Annotated[StrictStr | None, Field(max_length=64)] = None


class UnlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passcode: Annotated[StrictStr, Field(max_length=64, examples=["4821"])]


@router.get("/me/screen-time", response_model=ScreenTimeOut, responses=error_responses(401))
def get_screen_time(user: CurrentUser, db: DB) -> ScreenTimeOut:
    """Your screen time: today against your daily limit (an hour by default under 18) and the
    last 7 days."""
    return ScreenTimeOut.of(screen_time.get_screen_time(db, user))


@router.put(
    "/me/screen-time",
    response_model=ScreenTimeOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
def put_screen_time(body: LimitIn, user: CurrentUser, db: DB) -> ScreenTimeOut:
    """Set your daily limit. Under 18 there is always one (403 ``limit_required``), and a
    parent who manages it through family pairing is the only one who may loosen it (403
    ``managed_by_parent``)."""
    screen_time.do_set_limit(db, user, body.daily_minutes)
    return ScreenTimeOut.of(screen_time.get_screen_time(db, user))


@router.put(
    "/me/screen-time/passcode",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 403, 413, 422),
)
def put_passcode(body: PasscodeIn, user: CurrentUser, db: DB) -> Response:
    """Choose the passcode (4 to 6 digits) that lifts the break screen; changing it takes
    the current one (403 ``wrong_passcode``)."""
    screen_time.do_set_passcode(db, user, body.passcode, body.current)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/screen-time/unlock",
    response_model=ScreenTimeOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
def unlock(body: UnlockIn, user: CurrentUser, db: DB) -> ScreenTimeOut:
    """Enter the passcode to keep watching today (the first time, this chooses it)."""
    screen_time.do_unlock(db, user, body.passcode)
    return ScreenTimeOut.of(screen_time.get_screen_time(db, user))
