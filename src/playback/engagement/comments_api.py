"""Comment routes: write, list, reply, delete, like.

The request and response bodies live here too (they serve these routes only).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from playback.accounts.auth import CurrentUser, OptionalUser, rate_limited
from playback.engagement import comments as service
from playback.errors import error_responses
from playback.kit.cursors import decode_cursor, split_page
from playback.kit.ids import parse_id, require_id
from playback.kit.web import DB, AppStorage
from playback.media.schemas import Creator
from playback.storage import Storage

router = APIRouter(prefix="/api/v1", tags=["comments"])
PAGE_SIZE = 20


# --- bodies -------------------------------------------------------------------------------


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The 150-character rule is the service's (``comment_too_long``); this only caps absurd input.
    text: Annotated[StrictStr, Field(max_length=4000)]
    parent_id: uuid.UUID | None = Field(default=None, description="reply to this top-level comment")


CommentAuthor = Creator  # the same brief account card every list shows


class CommentOut(BaseModel):
    id: uuid.UUID
    video_id: uuid.UUID
    parent_id: uuid.UUID | None
    text: str
    mentions: list[str]
    author: CommentAuthor
    like_count: int
    reply_count: int
    liked_by_me: bool
    held: bool = Field(
        default=False,
        description="held by the creator's filter: only its author and the creator see it",
    )
    created_at: dt.datetime

    @classmethod
    def of(cls, view: service.CommentView, storage: Storage) -> CommentOut:
        c = view.comment
        return cls(
            id=c.id,
            video_id=c.video_id,
            parent_id=c.parent_id,
            text=c.text,
            mentions=view.mentions,
            author=CommentAuthor.of(view.author, storage),
            like_count=c.like_count,
            reply_count=c.reply_count,
            liked_by_me=view.liked_by_me,
            held=c.held,
            created_at=c.created_at,
        )


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


class CommentLikeOut(BaseModel):
    liked: bool
    like_count: int


Cursor = Annotated[str | None, Query(max_length=2048)]


def _page(views: list[service.CommentView], storage: Storage, scope: str, key: str) -> CommentPage:
    views, next_cursor = split_page(views, PAGE_SIZE, scope, lambda v: {key: str(v.comment.id)})
    return CommentPage(items=[CommentOut.of(v, storage) for v in views], next_cursor=next_cursor)


# --- routes -------------------------------------------------------------------------------


@router.post(
    "/videos/{video_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentOut,
    responses=error_responses(400, 401, 403, 404, 413, 422, 429),
    dependencies=[rate_limited("comment")],
)
def add_comment(
    video_id: str, body: CommentIn, user: CurrentUser, db: DB, storage: AppStorage
) -> CommentOut:
    """Comment on a video, or reply to one of its top-level comments (``parent_id``): 1–150
    characters. @handles mention people and tell them."""
    view = service.do_add_comment(
        db, user, require_id(video_id, "video"), body.text, body.parent_id
    )
    return CommentOut.of(view, storage)


@router.get(
    "/videos/{video_id}/comments",
    response_model=CommentPage,
    responses=error_responses(400, 404),
)
def list_comments(
    video_id: str, viewer: OptionalUser, db: DB, storage: AppStorage, cursor: Cursor = None
) -> CommentPage:
    """A video's top-level comments, newest first (cursor-paginated)."""
    vid = require_id(video_id, "video")
    scope = f"video-comments:{vid}"
    position = decode_cursor(scope, cursor)
    before = parse_id(str(position.get("before"))) if position else None
    views = service.list_comments(db, vid, viewer, before=before, limit=PAGE_SIZE + 1)
    return _page(views, storage, scope, "before")


@router.get(
    "/comments/{comment_id}/replies",
    response_model=CommentPage,
    responses=error_responses(400, 404),
)
def list_replies(
    comment_id: str, viewer: OptionalUser, db: DB, storage: AppStorage, cursor: Cursor = None
) -> CommentPage:
    """A comment's replies, oldest first (cursor-paginated)."""
    cid = require_id(comment_id, "comment")
    scope = f"comment-replies:{cid}"
    position = decode_cursor(scope, cursor)
    after = parse_id(str(position.get("after"))) if position else None
    views = service.list_replies(db, cid, viewer, after=after, limit=PAGE_SIZE + 1)
    return _page(views, storage, scope, "after")


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
def delete_comment(comment_id: str, user: CurrentUser, db: DB) -> Response:
    """Delete your comment, or any comment on your video; its replies go with it."""
    service.do_delete_comment(db, user, require_id(comment_id, "comment"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/comments/{comment_id}/like",
    response_model=CommentLikeOut,
    responses=error_responses(401, 403, 404),  # 403: a cookie write without its CSRF token
)
def like_comment(comment_id: str, user: CurrentUser, db: DB) -> CommentLikeOut:
    """Like a comment (liking twice is liking once)."""
    state = service.do_like_comment(db, user, require_id(comment_id, "comment"))
    return CommentLikeOut(liked=state.liked, like_count=state.like_count)


@router.delete(
    "/comments/{comment_id}/like",
    response_model=CommentLikeOut,
    responses=error_responses(401, 403, 404),  # 403: a cookie write without its CSRF token
)
def unlike_comment(comment_id: str, user: CurrentUser, db: DB) -> CommentLikeOut:
    """Take a like back (idempotent)."""
    state = service.do_unlike_comment(db, user, require_id(comment_id, "comment"))
    return CommentLikeOut(liked=state.liked, like_count=state.like_count)


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: Annotated[list[Annotated[StrictStr, Field(max_length=200)]], Field(max_length=500)]


class FilterOut(BaseModel):
    """Words or phrases that hold a comment on your videos until you approve it."""

    words: list[str]


@router.get("/me/comment-filter", response_model=FilterOut, responses=error_responses(401))
def get_comment_filter(user: CurrentUser) -> FilterOut:
    return FilterOut(words=service.filter_words(user))


@router.put(
    "/me/comment-filter",
    response_model=FilterOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
def put_comment_filter(body: FilterIn, user: CurrentUser, db: DB) -> FilterOut:
    """Choose up to 100 words or phrases: new comments on your videos holding one (whole
    words, any case) wait for your review, seen only by you and their author."""
    return FilterOut(words=service.do_set_comment_filter(db, user, body.words))


@router.post(
    "/comments/{comment_id}/approve",
    response_model=CommentOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def approve_comment(comment_id: str, user: CurrentUser, db: DB, storage: AppStorage) -> CommentOut:
    """Let a comment your filter held through (the video's creator only)."""
    view = service.do_approve_comment(db, user, require_id(comment_id, "comment"))
    return CommentOut.of(view, storage)
