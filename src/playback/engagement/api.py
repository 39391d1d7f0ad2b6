"""Engagement routes: likes, saves, shares and watch events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from playback.accounts.auth import CurrentUser, OptionalUser, rate_limited
from playback.accounts.models import User
from playback.config import Settings
from playback.engagement import counters, service
from playback.engagement.cards import video_cards
from playback.engagement.models import Save
from playback.engagement.schemas import LikeState, SaveState, ShareIn, ShareOut, ViewIn, ViewOut
from playback.errors import NotFound, error_responses
from playback.kit.cursors import decode_cursor, split_page
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage, client_ip
from playback.media.models import Video
from playback.media.schemas import VideoPage

router = APIRouter(prefix="/api/v1", tags=["engagement"])
ANON_COOKIE = "pb_anon"
PAGE_SIZE = 24


def _video_counts(db: DB, video_id: uuid.UUID) -> counters.VideoCounts:
    video = db.get(Video, video_id)
    if video is None:
        raise NotFound("video")
    return counters.video_counts(db, [video])[video.id]


def viewer_key(request: Request, viewer: User | None, settings: Settings) -> str:
    """Who is watching, for view counts and feeds: the user, or a hash standing for an
    anonymous browser (its ``pb_anon`` cookie, else its address and user agent)."""
    if viewer is not None:
        return f"user:{viewer.id}"
    return service.anonymous_viewer_key(
        settings.resolved_secret_key,
        request.cookies.get(ANON_COOKIE),
        client_ip(request),
        request.headers.get("user-agent"),
    )


@router.put(
    "/videos/{video_id}/not-interested",
    status_code=204,
    responses=error_responses(403, 404),
)
def not_interested(
    video_id: str, request: Request, viewer: OptionalUser, db: DB, settings: AppSettings
) -> Response:
    """Not interested: the video leaves your For You and videos like it sink (logged out
    too, for this browser)."""
    vid = require_id(video_id, "video")
    service.do_not_interested(db, viewer, viewer_key(request, viewer, settings), vid)
    return Response(status_code=204)


@router.put(
    "/videos/{video_id}/like",
    response_model=LikeState,
    responses=error_responses(401, 403, 404, 429),
    dependencies=[rate_limited("like")],
)
def like(video_id: str, user: CurrentUser, db: DB) -> LikeState:
    """Like a video (idempotent). Every like adds to the creator's total likes. The count is
    null (``likes_hidden``) when the creator hides the like counts of their videos."""
    vid = require_id(video_id, "video")
    service.do_like(db, user, vid)
    return LikeState.of(liked=True, like_count=service.visible_like_count(db, user, vid))


@router.delete(
    "/videos/{video_id}/like",
    response_model=LikeState,
    responses=error_responses(401, 403, 404, 429),
    dependencies=[rate_limited("like")],
)
def unlike(video_id: str, user: CurrentUser, db: DB) -> LikeState:
    vid = require_id(video_id, "video")
    service.do_unlike(db, user, vid)
    return LikeState.of(liked=False, like_count=service.visible_like_count(db, user, vid))


@router.put(
    "/videos/{video_id}/save", response_model=SaveState, responses=error_responses(401, 403, 404)
)
def save(video_id: str, user: CurrentUser, db: DB) -> SaveState:
    """Add a video to your favourites (idempotent)."""
    vid = require_id(video_id, "video")
    service.do_save(db, user, vid)
    return SaveState(saved=True, save_count=_video_counts(db, vid).saves)


@router.delete(
    "/videos/{video_id}/save", response_model=SaveState, responses=error_responses(401, 403, 404)
)
def unsave(video_id: str, user: CurrentUser, db: DB) -> SaveState:
    vid = require_id(video_id, "video")
    service.do_unsave(db, user, vid)
    return SaveState(saved=False, save_count=_video_counts(db, vid).saves)


@router.post(
    "/videos/{video_id}/shares",
    status_code=201,
    response_model=ShareOut,
    responses=error_responses(400, 403, 404, 413, 422),
)
def share(
    video_id: str, body: ShareIn, viewer: OptionalUser, db: DB, settings: AppSettings
) -> ShareOut:
    """Record a share and get the link to share."""
    vid = require_id(video_id, "video")
    service.do_share(db, viewer, vid, body.channel)
    return ShareOut(
        share_url=f"{settings.base_url.rstrip('/')}/v/{vid}",
        share_count=_video_counts(db, vid).shares,
    )


@router.post(
    "/videos/{video_id}/views",
    status_code=201,
    response_model=ViewOut,
    responses=error_responses(400, 403, 404, 413, 422),
)
def record_view(
    video_id: str,
    body: ViewIn,
    request: Request,
    viewer: OptionalUser,
    db: DB,
    settings: AppSettings,
) -> ViewOut:
    """Report watching: ``watched_ms`` of this stretch and where the video was found. A viewer
    adds at most one view per 10 minutes; watch times beyond what the video allows are clamped."""
    vid = require_id(video_id, "video")
    key = viewer_key(request, viewer, settings)
    result = service.do_record_view(
        db, viewer, key, vid, watched_ms=body.watched_ms, source=body.source
    )
    return ViewOut(
        counted=result.counted,
        watched_ms=result.watched_ms,
        view_count=_video_counts(db, vid).views,
    )


@router.get("/me/saves", response_model=VideoPage, responses=error_responses(400, 401))
def my_saves(
    user: CurrentUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> VideoPage:
    """Your favourites, most recently saved first."""
    position = decode_cursor(f"saves:{user.id}", cursor)
    before = (str(position["at"]), str(position["id"])) if position else None
    rows = service.list_saves(db, user, before=before, limit=PAGE_SIZE + 1)

    def after(row: tuple[Video, User]) -> dict[str, str]:
        saved = db.get(Save, (user.id, row[0].id))
        at = saved.created_at if saved else dt.datetime.now(dt.UTC)
        return {"at": at.isoformat(), "id": str(row[0].id)}

    rows, next_cursor = split_page(rows, PAGE_SIZE, f"saves:{user.id}", after)
    return VideoPage(items=video_cards(db, storage, settings, rows, user), next_cursor=next_cursor)
