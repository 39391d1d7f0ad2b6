"""Notification routes: the list, the unread count, marking read, and a live stream of the
unread count over Server-Sent Events.

The stream needs no broker: it polls the database about once a second with a short read-only
session, so it works with any number of server processes. It ends by itself after a few minutes
(the browser's EventSource reconnects) so that no connection lives forever.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from playback.accounts import service as accounts
from playback.accounts.auth import CurrentAuth, CurrentUser
from playback.accounts.models import User
from playback.db import Database
from playback.engagement import notifications
from playback.engagement.models import Notification
from playback.errors import error_responses
from playback.kit.cursors import InvalidCursor, decode_cursor, split_page
from playback.kit.web import DB, AppStorage
from playback.media.schemas import Creator
from playback.storage import Storage

log = structlog.get_logger("playback.notifications")
router = APIRouter(prefix="/api/v1", tags=["notifications"])
PAGE_SIZE = 30

# The live stream's pace (module constants so that tests can shorten them).
STREAM_POLL_SECONDS = 1.0
STREAM_KEEPALIVE_SECONDS = 15.0  # also how often the stream checks the session is still valid
STREAM_MAX_SECONDS = 300.0


# Each event of the stream: ``event: unread`` with the UnreadCount body as JSON in ``data``.
UNREAD_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"const": "unread"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/UnreadCount"},
        },
    },
}

Actor = Creator  # who did it: the same brief account card every list shows


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    text: str = Field(description="Ready to show, e.g. “maya and 41 others liked your video”")
    actor: Actor | None
    video_id: uuid.UUID | None
    comment_id: uuid.UUID | None
    count: int = Field(description="How many people a gathered “like” notification stands for")
    value: int | None = Field(description="The milestone reached, for kind “milestone”")
    read: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: Notification, actor: User | None, storage: Storage) -> NotificationOut:
        return cls(
            id=row.id,
            kind=row.kind,
            text=notifications.describe(row, actor),
            actor=Actor.of(actor, storage) if actor is not None else None,
            video_id=row.video_id,
            comment_id=row.comment_id,
            count=row.count,
            value=row.value,
            read=row.read_at is not None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class UnreadCount(BaseModel):
    unread_count: int


class NotificationPage(UnreadCount):
    items: list[NotificationOut]
    next_cursor: str | None


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="The notifications to mark read; all if left out"
    )


def _position(payload: dict[str, Any] | None) -> tuple[dt.datetime, uuid.UUID] | None:
    if payload is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(payload["at"])), uuid.UUID(str(payload["id"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


@router.get("/notifications", response_model=NotificationPage, responses=error_responses(400, 401))
def list_notifications(
    user: CurrentUser,
    db: DB,
    storage: AppStorage,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> NotificationPage:
    """Your notifications, most recently updated first (cursor-paginated), and how many are
    unread."""
    scope = f"notifications:{user.id}"
    before = _position(decode_cursor(scope, cursor))
    rows = notifications.list_notifications(db, user.id, before=before, limit=PAGE_SIZE + 1)
    rows, next_cursor = split_page(
        rows, PAGE_SIZE, scope, lambda r: {"at": r[0].updated_at.isoformat(), "id": str(r[0].id)}
    )
    return NotificationPage(
        items=[NotificationOut.of(row, actor, storage) for row, actor in rows],
        next_cursor=next_cursor,
        unread_count=notifications.count_unread(db, user.id),
    )


@router.get(
    "/notifications/unread-count", response_model=UnreadCount, responses=error_responses(401)
)
def get_unread_count(user: CurrentUser, db: DB) -> UnreadCount:
    """How many of your notifications are unread."""
    return UnreadCount(unread_count=notifications.count_unread(db, user.id))


@router.post(
    "/notifications/read",
    response_model=UnreadCount,
    responses=error_responses(400, 401, 403, 413, 422),
)
def read_notifications(user: CurrentUser, db: DB, body: ReadIn | None = None) -> UnreadCount:
    """Mark notifications read: those in ``ids``, or all of them without a body. Answers the
    unread count left."""
    notifications.do_mark_read(db, user.id, body.ids if body is not None else None)
    return UnreadCount(unread_count=notifications.count_unread(db, user.id))


@router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": 'Server-Sent Events: `unread` with `{"unread_count": n}` at once '
            "and whenever your notifications change; `: keep-alive` comments in between.",
            # One event, as OpenAPI 3.2 describes Server-Sent Events (``itemSchema``).
            "content": {"text/event-stream": {"itemSchema": UNREAD_EVENT_SCHEMA}},
        },
        **error_responses(401),
    },
)
async def stream_notifications(request: Request, auth: CurrentAuth) -> StreamingResponse:
    """Live unread count for the notification badge (use with ``EventSource``; the page's
    cookie session works). The stream closes after a few minutes; EventSource reconnects."""
    return StreamingResponse(
        _unread_events(request, auth.user.id, auth.token),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _poll(
    database: Database, user_id: uuid.UUID, token: str | None
) -> notifications.LiveState | None:
    """One short read-only look (in a worker thread); None once the session is gone."""
    with database.unit_of_work(write=False) as db:
        if token is not None and accounts.get_session_user(db, token) is None:
            return None
        return notifications.get_live_state(db, user_id)


async def _unread_events(request: Request, user_id: uuid.UUID, token: str) -> AsyncIterator[bytes]:
    # The request's own unit of work has ended by now: each poll opens and closes its own.
    database: Database = request.app.state.database
    started = last_sent = last_auth_check = time.monotonic()
    last: notifications.LiveState | None = None
    while True:
        now = time.monotonic()
        check_auth = now - last_auth_check >= STREAM_KEEPALIVE_SECONDS
        try:
            state = await anyio.to_thread.run_sync(
                _poll, database, user_id, token if check_auth else None
            )
        except sa.exc.SQLAlchemyError:
            log.warning("notification_stream_poll_failed", exc_info=True)
            return  # the client reconnects
        if state is None:  # logged out or expired: the reconnect will be refused with 401
            return
        if check_auth:
            last_auth_check = now
        if state != last:
            yield _event("unread", {"unread_count": state.unread_count})
            last, last_sent = state, now
        elif now - last_sent >= STREAM_KEEPALIVE_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = now
        if time.monotonic() - started >= STREAM_MAX_SECONDS:
            return
        await anyio.sleep(STREAM_POLL_SECONDS)
        if await request.is_disconnected():
            return
