"""Account routes: signup, sessions, your own profile and public profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response, UploadFile, status

from playback.accounts import breaks, service
from playback.accounts.auth import CurrentAuth, CurrentUser, OptionalUser, rate_limited
from playback.accounts.models import User
from playback.accounts.schemas import (
    BreakIn,
    BreakOut,
    LoginIn,
    Me,
    ProfilePatch,
    PublicProfile,
    SessionOut,
    SignupIn,
)
from playback.errors import PayloadTooLarge, error_responses

if TYPE_CHECKING:
    from playback.engagement.counters import UserCounts
from playback.kit.web import DB, AppSettings, AppStorage, Limiter, client_ip

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=Me,
    responses=error_responses(400, 403, 409, 413, 422, 429),
    dependencies=[rate_limited("signup")],
)
def create_account(body: SignupIn, db: DB, storage: AppStorage) -> Me:
    """Sign up. People under the minimum age of their country are refused with ``underage``
    and nothing about them is kept."""
    user = service.do_signup(
        db,
        handle=body.handle,
        password=body.password,
        birthdate=body.birthdate,
        country=body.country,
        email=body.email,
        time_zone=body.time_zone,
    )
    return Me.of(user, storage)


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=error_responses(400, 401, 413, 422, 429),
)
def create_session(
    body: LoginIn, request: Request, db: DB, settings: AppSettings, limiter: Limiter
) -> SessionOut:
    """Log in: a Bearer token for API clients."""
    session, token = service.do_login(
        db,
        limiter,
        settings,
        handle=body.handle,
        password=body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        kind="api",
    )
    return SessionOut(token=token, expires_at=session.expires_at)


@router.delete(
    "/sessions/current",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403),
)
def delete_current_session(auth: CurrentAuth, db: DB) -> Response:
    """Log out this session."""
    service.do_logout(db, auth.session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403),
)
def delete_all_sessions(user: CurrentUser, db: DB) -> Response:
    """Log out everywhere: every session of this account ends, this one included."""
    service.do_logout_everywhere(db, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _counts(db: DB, user: User) -> UserCounts:
    from playback.engagement import counters

    return counters.user_counts(db, [user])[user.id]


@router.get("/me", response_model=Me, responses=error_responses(401))
def get_me(user: CurrentUser, db: DB, storage: AppStorage) -> Me:
    return Me.of(user, storage, _counts(db, user))


@router.patch("/me", response_model=Me, responses=error_responses(400, 401, 403, 409, 413, 422))
def patch_me(body: ProfilePatch, user: CurrentUser, db: DB, storage: AppStorage) -> Me:
    """Change display name, bio, privacy (within the age rules), handle, time zone, who may
    comment on your videos (never wider than your age allows), or whether others see the like
    counts of your videos."""
    if body.handle is not None:
        service.do_change_handle(db, user, body.handle)
    service.do_update_profile(
        db,
        user,
        display_name=body.display_name,
        bio=body.bio,
        private=body.private,
        time_zone=body.time_zone,
        comment_audience=body.comment_audience,
        hide_like_counts=body.hide_like_counts,
    )
    return Me.of(user, storage, _counts(db, user))


@router.get("/me/break", response_model=BreakOut, responses=error_responses(401))
def get_break(user: CurrentUser) -> BreakOut:
    """Your break, if you are on one (a dated break is over once its last day is)."""
    return BreakOut.of(breaks.break_state(user))


@router.put(
    "/me/break", response_model=BreakOut, responses=error_responses(400, 401, 403, 413, 422)
)
def put_break(body: BreakIn, user: CurrentUser, db: DB) -> BreakOut:
    """Take a break (or change the one you are on): until a day at most 90 days ahead, or
    until you end it. Your notifications wait for your return and your profile tells your
    followers, with your message; your videos keep their place in For You. Refused with
    ``break_until_past``, ``break_too_long``, ``break_message_too_long`` or
    ``invalid_break_message``, changing nothing."""
    return BreakOut.of(breaks.do_start_break(db, user, until=body.until, message=body.message))


@router.delete("/me/break", response_model=BreakOut, responses=error_responses(401, 403))
def delete_break(user: CurrentUser, db: DB) -> BreakOut:
    """End your break now: the notifications it held arrive (after quiet hours, if it is
    quiet now)."""
    return BreakOut.of(breaks.do_end_break(db, user))


@router.put("/me/avatar", response_model=Me, responses=error_responses(400, 401, 403, 413, 422))
def put_avatar(
    file: UploadFile, user: CurrentUser, db: DB, storage: AppStorage, settings: AppSettings
) -> Me:
    """Upload an avatar (JPEG, PNG, WebP or GIF); it is stored as a 256×256 JPEG."""
    data = file.file.read(settings.avatar_max_bytes + 1)
    if len(data) > settings.avatar_max_bytes:
        raise PayloadTooLarge(f"An avatar is at most {settings.avatar_max_bytes} bytes.")
    service.do_set_avatar(db, storage, user, data)
    return Me.of(user, storage)


@router.delete("/me/avatar", response_model=Me, responses=error_responses(401, 403))
def delete_avatar(user: CurrentUser, db: DB, storage: AppStorage) -> Me:
    service.do_remove_avatar(db, storage, user)
    return Me.of(user, storage)


@router.get("/users/{handle}", response_model=PublicProfile, responses=error_responses(404))
def get_user(handle: str, viewer: OptionalUser, db: DB, storage: AppStorage) -> PublicProfile:
    """A public profile: ``Following · Followers · Likes`` and who they are."""
    user = service.access_profile(db, handle, viewer)
    return PublicProfile.of(user, storage, _counts(db, user))
