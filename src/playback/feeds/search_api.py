"""Search routes: accounts, hashtags and videos; a hashtag's page and its videos."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from playback.accounts.auth import OptionalUser
from playback.accounts.models import User
from playback.analytics import trends
from playback.engagement import counters
from playback.errors import error_responses
from playback.feeds import search
from playback.kit.cursors import (
    InvalidCursor,
    decode_before_id,
    decode_cursor,
    encode_cursor,
    split_page,
)
from playback.kit.web import DB, AppStorage
from playback.media import service as media
from playback.media.models import Video
from playback.media.schemas import VideoOut, VideoPage
from playback.storage import Storage

router = APIRouter(prefix="/api/v1", tags=["search"])
PAGE_SIZE = 20


class AccountHit(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    avatar_url: str | None
    follower_count: int
    private: bool


class HashtagOut(BaseModel):
    name: str
    video_count: int
    view_count: int

    @classmethod
    def of(cls, tag: search.HashtagStats) -> HashtagOut:
        return cls(name=tag.name, video_count=tag.video_count, view_count=tag.view_count)


class AccountPage(BaseModel):
    items: list[AccountHit]
    next_cursor: str | None


class HashtagPage(BaseModel):
    items: list[HashtagOut]
    next_cursor: str | None


def _offset(scope: str, cursor: str | None) -> int:
    position = decode_cursor(scope, cursor)
    if position is None:
        return 0
    offset = position.get("offset")
    if (
        not isinstance(offset, int)
        or isinstance(offset, bool)
        or not 0 < offset < search.MAX_RESULTS
    ):
        raise InvalidCursor()
    return offset


def _next(scope: str, offset: int, found: int) -> str | None:
    """Ranked results page by an offset (signed, so only ours), up to ``MAX_RESULTS`` deep."""
    after = offset + PAGE_SIZE
    if found <= PAGE_SIZE or after >= search.MAX_RESULTS:
        return None
    return encode_cursor(scope, {"offset": after})


def _accounts(db: DB, storage: Storage, users: list[User]) -> list[AccountHit]:
    counts = counters.user_counts(db, users)
    return [
        AccountHit(
            id=u.id,
            handle=u.handle,
            display_name=u.display_name,
            avatar_url=storage.url(u.avatar_key) if u.avatar_key else None,
            follower_count=counts[u.id].followers,
            private=u.private,
        )
        for u in users
    ]


def _videos(db: DB, storage: Storage, rows: list[tuple[Video, User]]) -> list[VideoOut]:
    tags = media.list_tags(db, [v.id for v, _ in rows])
    return [VideoOut.of(v, creator, storage, tags[v.id]) for v, creator in rows]


@router.get(
    "/search",
    response_model=VideoPage | AccountPage | HashtagPage,
    responses=error_responses(400, 422),
)
def search_everything(
    request: Request,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    q: Annotated[str, Query(max_length=2048)] = "",
    type: Annotated[Literal["videos", "accounts", "hashtags"], Query()] = "videos",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> VideoPage | AccountPage | HashtagPage:
    """Search videos (caption words, most relevant first), accounts (handle prefix or display
    name; exact handle first) or hashtags (name prefix, most used first). ``q`` is plain text:
    1 to 100 characters, never query syntax."""
    text = search.check_query(q)
    scope = f"search:{type}:{text}"
    offset = _offset(scope, cursor)
    limit = min(PAGE_SIZE + 1, search.MAX_RESULTS - offset)
    if type == "accounts":
        users = search.list_accounts(db, viewer, text, offset=offset, limit=limit)
        return AccountPage(
            items=_accounts(db, storage, users[:PAGE_SIZE]),
            next_cursor=_next(scope, offset, len(users)),
        )
    if type == "hashtags":
        tags = search.list_hashtags(db, text, offset=offset, limit=limit)
        return HashtagPage(
            items=[HashtagOut.of(t) for t in tags[:PAGE_SIZE]],
            next_cursor=_next(scope, offset, len(tags)),
        )
    rows = search.list_videos(db, viewer, text, offset=offset, limit=limit)
    if offset == 0:  # a search, not a further page of one
        trends.count_search(request.app.state.database, text, len(rows))
    return VideoPage(
        items=_videos(db, storage, rows[:PAGE_SIZE]), next_cursor=_next(scope, offset, len(rows))
    )


@router.get("/hashtags/{name}", response_model=HashtagOut, responses=error_responses(404))
def get_hashtag(name: str, viewer: OptionalUser, db: DB) -> HashtagOut:
    """A hashtag: how many public videos carry it and how often they were watched."""
    return HashtagOut.of(search.access_hashtag(db, name, viewer))


@router.get(
    "/hashtags/{name}/videos", response_model=VideoPage, responses=error_responses(400, 404)
)
def list_hashtag_videos(
    name: str,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> VideoPage:
    """A hashtag's videos you may see, newest first (cursor-paginated)."""
    tag = search.access_hashtag(db, name, viewer)
    scope = f"hashtag-videos:{tag.id}"
    before = decode_before_id(scope, cursor)
    rows = search.list_hashtag_videos(db, tag, viewer, before=before, limit=PAGE_SIZE + 1)
    rows, next_cursor = split_page(rows, PAGE_SIZE, scope, lambda r: {"before": str(r[0].id)})
    return VideoPage(items=_videos(db, storage, rows), next_cursor=next_cursor)
