"""Account request and response bodies. Field rules live in the service's ``check_*``
functions; these only fix the JSON types (and cap absurd lengths before any work is done)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

from playback.accounts import age_policy, breaks
from playback.accounts.models import User
from playback.storage import Storage


class Counts(Protocol):
    @property
    def followers(self) -> int: ...
    @property
    def following(self) -> int: ...
    @property
    def total_likes(self) -> int: ...


Text = Annotated[StrictStr, Field(max_length=1000)]


def _iso_date_text(value: object) -> object:
    # JSON has no date type: accept only "YYYY-MM-DD" text, never numbers read as timestamps.
    if not isinstance(value, str):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupIn(Strict):
    handle: Text
    password: Text
    birthdate: IsoDate = Field(description="ISO date, YYYY-MM-DD")
    country: Text = Field(description="ISO 3166-1 alpha-2 code, e.g. DE")
    email: Text | None = None
    time_zone: Text | None = Field(
        default=None, description="IANA time zone, e.g. Europe/Berlin (default: the country's)"
    )


class LoginIn(Strict):
    handle: Text
    password: Text


class SessionOut(BaseModel):
    token: str
    expires_at: dt.datetime


class ProfilePatch(Strict):
    display_name: Text | None = None
    bio: Text | None = None
    private: StrictBool | None = None
    handle: Text | None = None
    time_zone: Text | None = Field(default=None, description="IANA time zone, e.g. Europe/Berlin")
    comment_audience: Text | None = Field(
        default=None,
        description="who may comment on your videos: everyone, friends or nobody "
        "(never wider than your age allows)",
    )
    hide_like_counts: StrictBool | None = Field(
        default=None, description="others see no like counts on your videos (you still do)"
    )


class PublicProfile(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    private: bool
    follower_count: int
    following_count: int
    video_count: int
    total_likes: int = Field(
        description="every like the account's videos ever collected: the profile's headline, "
        "shown even when the account hides the like counts of its videos"
    )
    on_break: bool = Field(description="the account is taking a break")
    break_until: dt.date | None = Field(
        description="the break's last day (null: until they are back, or not on a break)"
    )
    break_message: str | None = Field(description="what they told their followers")

    @classmethod
    def of(cls, user: User, storage: Storage, counts: Counts | None = None) -> PublicProfile:
        """``counts`` are the exact counts (cache + pending changes) when the caller has them."""
        pause = breaks.break_state(user)
        return cls(
            id=user.id,
            handle=user.handle,
            display_name=user.display_name,
            bio=user.bio,
            avatar_url=storage.url(user.avatar_key) if user.avatar_key else None,
            private=user.private,
            follower_count=counts.followers if counts else user.follower_count,
            following_count=counts.following if counts else user.following_count,
            video_count=user.video_count,
            total_likes=counts.total_likes if counts else user.total_likes,
            on_break=pause.on_break,
            break_until=pause.until,
            break_message=pause.message,
        )


class Me(PublicProfile):
    """Your own account: the public profile plus what only you see."""

    email: str | None
    birthdate: dt.date
    country: str
    age_band: str
    may_be_public: bool
    role: str
    created_at: dt.datetime
    time_zone: str
    comment_audience: str  # who may comment on your videos, all rules applied
    hide_like_counts: bool  # others see no like counts on your videos

    @classmethod
    def of(cls, user: User, storage: Storage, counts: Counts | None = None) -> Me:
        return cls(
            **PublicProfile.of(user, storage, counts).model_dump(),
            email=user.email,
            birthdate=user.birthdate,
            country=user.country,
            age_band=age_policy.age_band(user.birthdate).value,
            may_be_public=age_policy.may_be_public(user.birthdate),
            role=user.role,
            created_at=user.created_at,
            time_zone=user.time_zone,
            comment_audience=age_policy.comment_audience(user).value,
            hide_like_counts=user.hide_like_counts,
        )


class BreakIn(Strict):
    until: IsoDate | None = Field(
        default=None,
        description="the break's last day, YYYY-MM-DD in your time zone: today at the earliest, "
        f"at most {breaks.BREAK_MAX_DAYS} days ahead; null: until you end it",
    )
    message: Text | None = Field(
        default=None,
        description=f"a word for your followers, shown on your profile (at most "
        f"{breaks.BREAK_MESSAGE_MAX} characters, one line)",
    )


class BreakOut(BaseModel):
    """Your break as it is now (everything empty when you are not on one)."""

    on_break: bool
    since: dt.datetime | None
    until: dt.date | None = Field(description="the last day (null: until you end it)")
    ends_at: dt.datetime | None = Field(
        description="when it ends by itself: the midnight after the last day, in your time zone"
    )
    message: str | None

    @classmethod
    def of(cls, state: breaks.BreakState) -> BreakOut:
        return cls(
            on_break=state.on_break,
            since=state.since,
            until=state.until,
            ends_at=state.ends_at,
            message=state.message,
        )


class SessionInfo(BaseModel):
    id: uuid.UUID
    kind: str
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    ip: str | None
    user_agent: str | None
    current: bool
