"""Family pairing routes: a teen makes a one-time code, an adult enters it and becomes the
teen's linked parent, sets their controls, and either side unlinks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from playback.accounts.age_policy import age_band
from playback.accounts.auth import CurrentUser
from playback.accounts.models import User
from playback.errors import error_responses
from playback.kit.web import DB
from playback.safety import family

router = APIRouter(prefix="/api/v1", tags=["family"])


class CodeOut(BaseModel):
    code: str = Field(description="Give it to your parent; it works once, until expires_at")
    expires_at: dt.datetime


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[StrictStr, Field(max_length=32, description="The teen's code")]


class ControlsOut(BaseModel):
    screen_time_minutes: int | None = Field(
        description="The daily limit set; null: the age band's default, 0: no limit"
    )
    daily_limit_minutes: int | None = Field(description="The limit that applies; null: none")
    comment_audience: Literal["everyone", "friends", "nobody"] = Field(
        description="Who may comment now: the age band's rule, narrowed by the setting"
    )
    private: bool

    @classmethod
    def of(cls, controls: family.Controls) -> ControlsOut:
        return cls(
            screen_time_minutes=controls.screen_time_minutes,
            daily_limit_minutes=controls.daily_limit_minutes,
            comment_audience=controls.comment_audience.value,
            private=controls.private,
        )


class ParentOut(BaseModel):
    handle: str
    display_name: str


class TeenOut(BaseModel):
    handle: str
    display_name: str
    age_band: str
    linked_at: dt.datetime
    controls: ControlsOut

    @classmethod
    def of(cls, linked: family.LinkedTeen) -> TeenOut:
        return cls(
            handle=linked.teen.handle,
            display_name=linked.teen.display_name,
            age_band=age_band(linked.teen.birthdate).value,
            linked_at=linked.linked_at,
            controls=ControlsOut.of(linked.controls),
        )


class FamilyOut(BaseModel):
    """Both sides of pairing: ``parent``, ``pending_code_expires_at``, ``controls`` and
    ``managed`` describe a teen's own account (null / false for adults); ``teens`` lists the
    teens an adult manages."""

    parent: ParentOut | None
    pending_code_expires_at: dt.datetime | None
    controls: ControlsOut | None
    managed: bool
    teens: list[TeenOut]


class ControlsPatch(BaseModel):
    """Absent fields stay as they are. ``screen_time_minutes``: null is the age band's default;
    ``comment_audience`` "everyone" leaves the band's rule; ``comment_audience`` or ``private``
    null: unchanged."""

    model_config = ConfigDict(extra="forbid")
    screen_time_minutes: (
        Annotated[StrictInt, Field(ge=family.PARENT_MINUTES_MIN, le=family.PARENT_MINUTES_MAX)]
        | None
    ) = None
    comment_audience: Literal["everyone", "friends", "nobody"] | None = None
    private: StrictBool | None = None


def _parent(user: User | None) -> ParentOut | None:
    return ParentOut(handle=user.handle, display_name=user.display_name) if user else None


@router.post(
    "/me/family/code",
    status_code=status.HTTP_201_CREATED,
    response_model=CodeOut,
    responses=error_responses(401, 403, 409),
)
def make_code(user: CurrentUser, db: DB) -> CodeOut:
    """A teen's one-time pairing code, valid 15 minutes (a new one replaces the last).
    403 ``not_a_teen`` for adults, 409 ``already_linked`` while a parent is linked."""
    code, expires_at = family.do_make_code(db, user)
    return CodeOut(code=code, expires_at=expires_at)


@router.post(
    "/family/link",
    response_model=TeenOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
def link(body: LinkIn, user: CurrentUser, db: DB) -> TeenOut:
    """Enter a teen's code to become their linked parent (adults only: 403
    ``parent_must_be_adult``). A wrong, used or expired code is 404 ``code_not_found``."""
    return TeenOut.of(family.do_link(db, user, body.code))


@router.get("/me/family", response_model=FamilyOut, responses=error_responses(401))
def get_family(user: CurrentUser, db: DB) -> FamilyOut:
    """Who is linked: a teen's parent and what they control, an adult's teens."""
    found = family.get_family(db, user)
    return FamilyOut(
        parent=_parent(found.parent),
        pending_code_expires_at=found.pending_code_expires_at,
        controls=ControlsOut.of(found.controls) if found.controls else None,
        managed=found.managed,
        teens=[TeenOut.of(teen) for teen in found.teens],
    )


@router.delete(
    "/me/family",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
def unlink_parent(user: CurrentUser, db: DB) -> Response:
    """As a teen: end the pairing with your parent (who is told), or withdraw a waiting code.
    404 ``family_link_not_found`` when there is none."""
    family.do_unlink_parent(db, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/family/teens/{handle}",
    response_model=TeenOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
def set_controls(handle: str, body: ControlsPatch, user: CurrentUser, db: DB) -> TeenOut:
    """Set a linked teen's daily screen time (15–1440 minutes or null for the default), comment
    audience and privacy; the teen is told. 404 ``teen_not_found`` for anyone but their linked
    parent; 403 ``private_required`` for making an under-16 public."""
    screen_time: int | family.Keep | None = family.KEEP
    if "screen_time_minutes" in body.model_fields_set:
        screen_time = body.screen_time_minutes
    linked = family.do_set_controls(
        db,
        user,
        handle,
        screen_time_minutes=screen_time,
        comment_audience=body.comment_audience,
        private=body.private,
    )
    return TeenOut.of(linked)


@router.delete(
    "/family/teens/{handle}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
def unlink_teen(handle: str, user: CurrentUser, db: DB) -> Response:
    """As a parent: end the pairing with a teen (who is told). Their settings stay."""
    family.do_unlink_teen(db, user, handle)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
