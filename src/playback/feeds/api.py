"""Feed routes: Following and For You."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from playback.accounts.auth import CurrentUser, OptionalUser
from playback.accounts.models import User
from playback.db import Database
from playback.engagement.api import viewer_key
from playback.engagement.cards import video_cards
from playback.errors import error_responses
from playback.feeds import service
from playback.kit.cursors import (
    decode_before_id,
    decode_cursor,
    encode_cursor,
    split_page,
)
from playback.kit.web import DB, AppSettings, AppStorage
from playback.media.schemas import VideoPage
from playback.safety import screen_time

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"])


class BreakScreenOut(BaseModel):
    """Today's screen time is used up: take a break, or enter the passcode
    (``POST /api/v1/me/screen-time/unlock``) to keep watching today."""

    used_minutes: int
    limit_minutes: int
    has_passcode: bool


class FeedPage(VideoPage):
    break_screen: BreakScreenOut | None = None  # set (with no items) past the daily limit


def _on_break(db: DB, viewer: User | None) -> FeedPage | None:
    brk = screen_time.break_screen(db, viewer)
    if brk is None:
        return None
    shown = BreakScreenOut(
        used_minutes=brk.used_minutes,
        limit_minutes=brk.limit_minutes,
        has_passcode=brk.has_passcode,
    )
    return FeedPage(items=[], next_cursor=None, break_screen=shown)


@router.get("/following", response_model=FeedPage, responses=error_responses(400, 401))
def following_feed(
    user: CurrentUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> FeedPage:
    """Videos of the people you follow, newest first (or the break screen, past the daily
    screen-time limit)."""
    if (paused := _on_break(db, user)) is not None:
        return paused
    scope = f"following-feed:{user.id}"
    before = decode_before_id(scope, cursor)
    rows = service.list_following(db, user, before=before, limit=service.PAGE_SIZE + 1)
    rows, next_cursor = split_page(
        rows, service.PAGE_SIZE, scope, lambda r: {"before": str(r[0].id)}
    )
    return FeedPage(items=video_cards(db, storage, settings, rows, user), next_cursor=next_cursor)


@router.get("/for-you", response_model=FeedPage, responses=error_responses(400))
def for_you_feed(
    request: Request,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> FeedPage:
    """An endless, ranked feed with the reasons each video is there. Works logged out too.
    Past the daily screen-time limit it answers the break screen instead."""
    if (paused := _on_break(db, viewer)) is not None:
        return paused
    key = viewer_key(request, viewer, settings)
    position = decode_cursor(f"for-you:{key}", cursor)
    session_id = str(position["session"]) if position else service.new_session_id()
    ranked = service.rank_for_you(db, viewer, key, session_id)
    # The page is read in a read-only unit of work; the impressions are written in a short one
    # of their own, so ranking never holds (or, on SQLite, waits to upgrade to) the write lock.
    database: Database = request.app.state.database
    with database.unit_of_work() as write:
        service.do_record_impressions(write, session_id, key, [r.video.id for r in ranked])
    cards = video_cards(
        db,
        storage,
        settings,
        [(r.video, r.creator) for r in ranked],
        viewer,
        reasons={r.video.id: r.reasons for r in ranked},
    )
    next_cursor = encode_cursor(f"for-you:{key}", {"session": session_id}) if ranked else None
    return FeedPage(items=cards, next_cursor=next_cursor)
