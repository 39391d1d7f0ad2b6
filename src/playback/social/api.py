"""Social routes: follow, unfollow, follow requests, followers and following lists, blocks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from playback.accounts import service as accounts
from playback.accounts.auth import CurrentUser, OptionalUser, rate_limited
from playback.accounts.models import User
from playback.engagement import counters
from playback.errors import NotFound, error_responses
from playback.kit.cursors import decode_cursor, split_page
from playback.kit.web import DB, AppStorage
from playback.social import service
from playback.social.schemas import AccountCard, AccountPage, FollowState
from playback.storage import Storage

router = APIRouter(prefix="/api/v1", tags=["social"])
PAGE_SIZE = 50


def _card(user: User, storage: Storage) -> AccountCard:
    return AccountCard(
        id=user.id,
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=storage.url(user.avatar_key) if user.avatar_key else None,
        private=user.private,
    )


def _state(db: DB, follower: User, followee: User) -> FollowState:
    return FollowState(
        status=service.follow_status(db, follower.id, followee.id),
        follower_count=counters.user_counts(db, [followee])[followee.id].followers,
    )


@router.put(
    "/users/{handle}/follow",
    response_model=FollowState,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[rate_limited("follow")],
)
def follow(
    handle: str,
    user: CurrentUser,
    db: DB,
    video_id: Annotated[
        uuid.UUID | None, Query(description="their video whose follow button this was")
    ] = None,
) -> FollowState:
    """Follow (idempotent). A private account gets a request instead (status "pending")."""
    target = accounts.access_profile(db, handle, user)
    service.do_follow(db, user, target, via_video_id=video_id)
    return _state(db, user, target)


@router.delete(
    "/users/{handle}/follow", response_model=FollowState, responses=error_responses(401, 403, 404)
)
def unfollow(handle: str, user: CurrentUser, db: DB) -> FollowState:
    """Unfollow, or withdraw a request (idempotent)."""
    target = accounts.access_profile(db, handle, user)
    service.do_unfollow(db, user, target)
    return _state(db, user, target)


def _page(
    db: DB,
    storage: Storage,
    user: User,
    direction: str,
    status_: str,
    cursor: str | None,
    scope: str,
) -> AccountPage:
    position = decode_cursor(scope, cursor)
    before = (str(position["at"]), str(position["id"])) if position else None
    rows = service.list_follows(
        db, user, direction=direction, status=status_, before=before, limit=PAGE_SIZE + 1
    )
    rows, next_cursor = split_page(
        rows, PAGE_SIZE, scope, lambda r: {"at": r[1].created_at.isoformat(), "id": str(r[0].id)}
    )
    return AccountPage(items=[_card(u, storage) for u, _ in rows], next_cursor=next_cursor)


def _listable(db: DB, handle: str, viewer: User | None) -> User:
    """Lists of a private account are for its approved followers (and itself)."""
    user = accounts.access_profile(db, handle, viewer)
    if user.private and (
        viewer is None
        or (viewer.id != user.id and not service.is_approved_follower(db, viewer.id, user.id))
    ):
        raise NotFound("user")
    return user


@router.get(
    "/users/{handle}/followers", response_model=AccountPage, responses=error_responses(400, 404)
)
def followers(
    handle: str,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountPage:
    user = _listable(db, handle, viewer)
    return _page(db, storage, user, "followers", "accepted", cursor, f"followers:{user.id}")


@router.get(
    "/users/{handle}/following", response_model=AccountPage, responses=error_responses(400, 404)
)
def following(
    handle: str,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountPage:
    user = _listable(db, handle, viewer)
    return _page(db, storage, user, "following", "accepted", cursor, f"following:{user.id}")


@router.get("/me/follow-requests", response_model=AccountPage, responses=error_responses(400, 401))
def follow_requests(
    user: CurrentUser,
    db: DB,
    storage: AppStorage,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountPage:
    """People waiting for you to approve their follow request."""
    return _page(db, storage, user, "followers", "pending", cursor, f"requests:{user.id}")


@router.put(
    "/me/follow-requests/{handle}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
def approve_request(handle: str, user: CurrentUser, db: DB) -> Response:
    requester = accounts.access_profile(db, handle, user)
    service.do_answer_request(db, user, requester.id, approve=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/me/follow-requests/{handle}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
def decline_request(handle: str, user: CurrentUser, db: DB) -> Response:
    requester = accounts.access_profile(db, handle, user)
    service.do_answer_request(db, user, requester.id, approve=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/users/{handle}/block",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
def block(handle: str, user: CurrentUser, db: DB) -> Response:
    """Block: follows both ways end and each disappears for the other (idempotent)."""
    target = accounts.get_user_by_handle(db, handle)
    if target is None:
        raise NotFound("user")
    service.do_block(db, user, target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/{handle}/block",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
def unblock(handle: str, user: CurrentUser, db: DB) -> Response:
    target = accounts.get_user_by_handle(db, handle)
    if target is None:
        raise NotFound("user")
    service.do_unblock(db, user, target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
