"""Moderation routes: reports for everyone logged in; the queue, decisions, appeals and the
audit log for moderators; one appeal for a creator whose video was taken down."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from playback.accounts.auth import CurrentUser
from playback.errors import error_responses
from playback.kit.ids import require_id
from playback.kit.web import DB
from playback.safety import moderation
from playback.safety.models import REPORT_REASONS

router = APIRouter(prefix="/api/v1", tags=["moderation"])

TargetKind = Literal["video", "comment", "account"]
Reason = Literal[REPORT_REASONS]  # type: ignore[valid-type]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: TargetKind
    id: uuid.UUID
    reason: Reason
    details: Annotated[StrictStr, Field(max_length=moderation.DETAILS_MAX)] = ""


class ReportOut(BaseModel):
    id: uuid.UUID
    target: str
    target_id: uuid.UUID
    reason: str
    status: str


class QueueItemOut(BaseModel):
    target: str
    target_id: uuid.UUID
    reports: int
    reasons: dict[str, int]
    first_reported_at: dt.datetime
    preview: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: TargetKind
    id: uuid.UUID
    action: Literal["remove", "restrict", "ban", "dismiss"]
    note: Annotated[StrictStr, Field(max_length=moderation.DETAILS_MAX)] = ""


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    moderator_id: uuid.UUID | None
    action: str
    target: str = Field(validation_alias="target_kind")
    target_id: uuid.UUID
    reports: int
    note: str
    created_at: dt.datetime


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[StrictStr, Field(max_length=moderation.APPEAL_MAX)] = ""


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grant: StrictBool
    note: Annotated[StrictStr, Field(max_length=moderation.DETAILS_MAX)] = ""


class AppealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    video_id: uuid.UUID
    text: str
    status: str
    created_at: dt.datetime


Limit = Annotated[int, Query(ge=1, le=200)]


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
def report(body: ReportIn, user: CurrentUser, db: DB) -> ReportOut:
    """Report a video, a comment or an account for breaking the rules."""
    found = moderation.do_report(db, user, body.target, body.id, body.reason, body.details)
    return ReportOut(
        id=found.id,
        target=found.target_kind,
        target_id=found.target_id,
        reason=found.reason,
        status=found.status,
    )


@router.get(
    "/moderation/queue", response_model=list[QueueItemOut], responses=error_responses(401, 403)
)
def queue(user: CurrentUser, db: DB, limit: Limit = 50) -> list[QueueItemOut]:
    """What people reported, by target, the longest waiting first (moderators)."""
    moderation.check_moderator(user)
    return [
        QueueItemOut(
            target=item.target_kind,
            target_id=item.target_id,
            reports=item.reports,
            reasons=item.reasons,
            first_reported_at=item.first_reported_at,
            preview=item.preview,
        )
        for item in moderation.list_queue(db, limit)
    ]


@router.post(
    "/moderation/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
def decide(body: DecisionIn, user: CurrentUser, db: DB) -> ActionOut:
    """Remove, restrict, ban or dismiss: decides every open report about the target."""
    entry = moderation.do_decide(db, user, body.target, body.id, body.action, body.note)
    return ActionOut.model_validate(entry)


@router.get("/moderation/log", response_model=list[ActionOut], responses=error_responses(401, 403))
def log(user: CurrentUser, db: DB, limit: Limit = 100) -> list[ActionOut]:
    """Every moderator's decision, newest first (moderators)."""
    moderation.check_moderator(user)
    return [ActionOut.model_validate(entry) for entry in moderation.list_log(db, limit)]


@router.post(
    "/videos/{video_id}/appeal",
    status_code=status.HTTP_201_CREATED,
    response_model=AppealOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
def appeal(video_id: str, body: AppealIn, user: CurrentUser, db: DB) -> AppealOut:
    """Appeal the removal of your video (once)."""
    return AppealOut.model_validate(
        moderation.do_appeal(db, user, require_id(video_id, "video"), body.text)
    )


@router.get(
    "/moderation/appeals", response_model=list[AppealOut], responses=error_responses(401, 403)
)
def appeals(user: CurrentUser, db: DB, limit: Limit = 50) -> list[AppealOut]:
    """Open appeals, the longest waiting first (moderators)."""
    moderation.check_moderator(user)
    return [AppealOut.model_validate(a) for a in moderation.list_appeals(db, limit)]


@router.post(
    "/moderation/appeals/{appeal_id}/decision",
    response_model=AppealOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
def decide_appeal(appeal_id: str, body: AppealDecisionIn, user: CurrentUser, db: DB) -> AppealOut:
    """Grant (the video is back) or deny an appeal (moderators)."""
    decided = moderation.do_decide_appeal(
        db, user, require_id(appeal_id, "appeal"), body.grant, body.note
    )
    return AppealOut.model_validate(decided)
