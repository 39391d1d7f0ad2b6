"""Page routes. Pages call the same service functions as the JSON API; forms post back to the
page, are checked for their CSRF token, and follow the post/redirect/get pattern."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pycountry
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from playback.accounts import age_policy, breaks, service
from playback.accounts.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Auth,
    authenticate,
    check_csrf,
    count_action,
    csrf_token,
    new_csrf_cookie,
)
from playback.accounts.models import User
from playback.accounts.schemas import PublicProfile
from playback.engagement.api import ANON_COOKIE
from playback.errors import DomainError, Invalid, PayloadTooLarge
from playback.kit.ids import require_id
from playback.kit.text import HASHTAG_RE, MENTION_RE, normalize_hashtag
from playback.kit.time import today
from playback.kit.web import DB, AppSettings, AppStorage, Limiter, client_ip

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


def compact_count(value: int) -> str:
    """1234 → 1.2K, 2_500_000 → 2.5M, as profiles show them."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return str(value)


def linkify_caption(text: str) -> Markup:
    """Escape a caption, then link its @mentions to profiles and mark its #hashtags."""
    html = str(escape(text))
    html = MENTION_RE.sub(lambda m: f'<a href="/@{m.group(1).lower()}">@{m.group(1)}</a>', html)
    html = HASHTAG_RE.sub(
        lambda m: (
            f'<a class="hashtag" href="/tag/{normalize_hashtag(m.group(1))}">#{m.group(1)}</a>'
        ),
        html,
    )
    return Markup(html)  # noqa: S704 - built from escaped text and our own markup


def duration_label(ms: int | None) -> str:
    if not ms:
        return ""
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


templates.env.filters["compact"] = compact_count
templates.env.filters["linkify_caption"] = linkify_caption
templates.env.filters["duration"] = duration_label


def query_date(request: Request, name: str) -> dt.date | None:
    """A date in a page's query string (422 ``bad_date`` if it is not one)."""
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not a date (YYYY-MM-DD).", code="bad_date") from None


def _page_auth(request: Request, db: DB) -> Auth | None:
    return authenticate(request, db)


PageAuth = Annotated[Auth | None, Depends(_page_auth)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the viewer, CSRF token and shared context; plant the anonymous CSRF
    cookie the first time a browser visits."""
    new_cookie = None if request.cookies.get(CSRF_COOKIE) else new_csrf_cookie()
    auth = _loaded_auth(request)
    storage = request.app.state.storage
    ctx = {
        "request": request,
        "viewer": auth.user if auth else None,
        "viewer_avatar": storage.url(auth.user.avatar_key)
        if auth and auth.user.avatar_key
        else None,
        "csrf_token": csrf_token(request, new_cookie),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
    if new_cookie:
        response.set_cookie(
            CSRF_COOKIE, new_cookie, httponly=True, samesite="lax", secure=_secure(request)
        )
    if auth is None and not request.cookies.get(ANON_COOKIE):
        # A random id for this browser, so a logged-out viewer's views count once per 10 minutes
        # and their For You skips what they watched (hashed before it is stored).
        response.set_cookie(
            ANON_COOKIE,
            new_csrf_cookie(),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
    return response


def _loaded_auth(request: Request) -> Auth | None:
    """The viewer, if their row can still be read: an error page after a failed unit of work
    holds a user row whose session has gone, and shows the page as to a visitor instead."""
    auth: Auth | None = getattr(request.state, "auth", None)
    if auth is None:
        return None
    try:
        auth.user.handle  # noqa: B018 - loads the row, or raises if it cannot be loaded
    except sa.exc.SQLAlchemyError:
        return None
    return auth


def render_error(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
        headers=headers,
    )


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.base_url.startswith("https://"))


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _set_session_cookie(request: Request, response: Response, token: str, days: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


# --- pages ----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, auth: PageAuth, tab: str = "for_you") -> HTMLResponse:
    """The feed: For You, or Following with ``?tab=following`` (logged out: a log-in prompt)."""
    return render(request, "feed.html", {"tab": "following" if tab == "following" else "for_you"})


@router.get("/following", response_class=HTMLResponse)
def following_page(request: Request, auth: PageAuth) -> HTMLResponse:
    return render(request, "feed.html", {"tab": "following"})


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, auth: PageAuth) -> Response:
    if auth is None:
        return _redirect("/login?next=/inbox")
    return render(request, "notifications.html")


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, auth: PageAuth) -> Response:
    if auth:
        return _redirect("/")
    return render(request, "signup.html", {"countries": COUNTRIES, "form": {}, "today": today()})


@router.post("/signup", response_class=HTMLResponse)
def signup_submit(
    request: Request,
    db: DB,
    settings: AppSettings,
    limiter: Limiter,
    handle: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    birthdate: Annotated[str, Form(max_length=20)] = "",
    country: Annotated[str, Form(max_length=10)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    form = {"handle": handle, "country": country, "email": email}
    try:
        check_csrf(request, csrf_token_field)
        count_action(request, db, settings, limiter, "signup")
        try:
            born = dt.date.fromisoformat(birthdate)
        except ValueError as exc:
            raise Invalid("Enter your date of birth.", code="invalid_birthdate") from exc
        user = service.do_signup(
            db,
            handle=handle,
            password=password,
            birthdate=born,
            country=country,
            email=email or None,
        )
        _session, token = service.do_login(
            db,
            limiter,
            settings,
            handle=user.handle,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            kind="web",
        )
    except DomainError as exc:
        db.rollback()
        if exc.code == "underage":
            # Nothing about the person is kept or echoed back, not even in the form.
            form = {}
        return render(
            request,
            "signup.html",
            {"countries": COUNTRIES, "form": form, "error": exc, "today": today()},
            status_code=exc.status_code,
        )
    response = _redirect(f"/@{user.handle}")
    _set_session_cookie(request, response, token, settings.session_days)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, auth: PageAuth) -> Response:
    if auth:
        return _redirect("/")
    return render(request, "login.html", {"form": {}})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DB,
    settings: AppSettings,
    limiter: Limiter,
    handle: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    try:
        check_csrf(request, csrf_token_field)
        _session, token = service.do_login(
            db,
            limiter,
            settings,
            handle=handle,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            kind="web",
        )
    except DomainError as exc:
        db.rollback()
        return render(
            request,
            "login.html",
            {"form": {"handle": handle}, "error": exc},
            status_code=exc.status_code,
            headers=exc.headers(),
        )
    # Only same-site paths: never redirect to another origin.
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    response = _redirect(target)
    _set_session_cookie(request, response, token, settings.session_days)
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: DB,
    auth: PageAuth,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    if auth is not None:
        check_csrf(request, csrf_token_field)
        service.do_logout(db, auth.session)
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/@{handle}", response_class=HTMLResponse)
def profile_page(
    request: Request, handle: str, db: DB, storage: AppStorage, auth: PageAuth
) -> HTMLResponse:
    from playback.engagement import counters
    from playback.media import service as media
    from playback.media.schemas import VideoOut

    viewer = auth.user if auth else None
    user = service.access_profile(db, handle, viewer)
    videos = media.list_user_videos(db, user, viewer, before=None, limit=60)
    tags = media.list_tags(db, [v.id for v in videos])
    return render(
        request,
        "profile.html",
        {
            "profile": PublicProfile.of(user, storage, counters.user_counts(db, [user])[user.id]),
            "is_self": viewer is not None and viewer.id == user.id,
            "videos": [VideoOut.of(v, user, storage, tags[v.id]) for v in videos],
        },
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, settings: AppSettings, auth: PageAuth) -> Response:
    if auth is None:
        return _redirect("/login?next=/upload")
    return render(
        request,
        "upload.html",
        {
            "max_bytes": settings.video_max_bytes,
            "max_mb": settings.video_max_bytes // (1024 * 1024),
            "max_minutes": int(settings.video_max_seconds // 60),
        },
    )


@router.get("/v/{video_id}", response_class=HTMLResponse)
def video_page(
    request: Request,
    video_id: str,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    auth: PageAuth,
) -> HTMLResponse:
    from playback.engagement.cards import video_cards
    from playback.media import service as media

    vid = require_id(video_id, "video")
    viewer = auth.user if auth else None
    video, creator = media.access_video(db, vid, viewer)
    # The full card: its sound credit and the video it answers (a duet or a stitch).
    out = video_cards(db, storage, settings, [(video, creator)], viewer)[0]
    return render(
        request,
        "video.html",
        {"video": out, "is_owner": viewer is not None and viewer.id == creator.id},
    )


def _settings_context(request: Request, db: Session, user: User, **extra: Any) -> dict[str, Any]:
    from playback.safety import screen_time

    on_break = breaks.break_state(user)
    today_there = breaks.local_today(user.time_zone)
    return {
        "screen_time": screen_time.get_screen_time(db, user),
        "on_break": on_break,
        "break_form": {
            "until": on_break.until.isoformat() if on_break.until else "",
            "message": on_break.message or "",
            "min": today_there.isoformat(),
            "max": (today_there + dt.timedelta(days=breaks.BREAK_MAX_DAYS)).isoformat(),
            "message_max": breaks.BREAK_MESSAGE_MAX,
        },
        "is_adult": age_policy.age_band(user.birthdate) is age_policy.AgeBand.ADULT,
        "erase_after_days": request.app.state.settings.erase_after_days,
        "form": {"display_name": user.display_name, "bio": user.bio, "handle": user.handle},
        "age_band": age_policy.age_band(user.birthdate).value,
        "may_be_public": age_policy.may_be_public(user.birthdate),
        "bio_max": service.BIO_MAX,
        **extra,
    }


def _settings_refused(request: Request, db: Session, user: User, exc: DomainError) -> Response:
    """The settings page again, with what was refused and nothing of it saved."""
    db.rollback()
    db.refresh(user)
    context = _settings_context(request, db, user, error=exc)
    return render(request, "settings.html", context, status_code=exc.status_code)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _redirect("/login?next=/settings")
    saved = request.query_params.get("saved")
    return render(request, "settings.html", _settings_context(request, db, auth.user, saved=saved))


@router.post("/settings", response_class=HTMLResponse)
def settings_submit(
    request: Request,
    db: DB,
    auth: PageAuth,
    display_name: Annotated[str, Form(max_length=1000)] = "",
    bio: Annotated[str, Form(max_length=1000)] = "",
    handle: Annotated[str, Form(max_length=1000)] = "",
    private: Annotated[str | None, Form()] = None,
    hide_like_counts: Annotated[str | None, Form()] = None,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    if auth is None:
        return _redirect("/login?next=/settings")
    user = auth.user
    try:
        check_csrf(request, csrf_token_field)
        if handle:
            service.do_change_handle(db, user, handle)
        service.do_update_profile(
            db,
            user,
            display_name=display_name,
            bio=bio,
            private=private is not None,
            hide_like_counts=hide_like_counts is not None,
        )
    except DomainError as exc:
        db.rollback()
        db.refresh(user)
        ctx = _settings_context(request, db, user, error=exc)
        ctx["form"] = {"display_name": display_name, "bio": bio, "handle": handle}
        return render(request, "settings.html", ctx, status_code=exc.status_code)
    return _redirect("/settings?saved=1")


@router.post("/settings/avatar", response_class=HTMLResponse)
def avatar_submit(
    request: Request,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    auth: PageAuth,
    avatar: UploadFile,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    if auth is None:
        return _redirect("/login?next=/settings")
    try:
        check_csrf(request, csrf_token_field)
        data = avatar.file.read(settings.avatar_max_bytes + 1)
        if len(data) > settings.avatar_max_bytes:
            raise PayloadTooLarge(
                f"An avatar is at most {settings.avatar_max_bytes // 1048576} MB."
            )
        service.do_set_avatar(db, storage, auth.user, data)
    except DomainError as exc:
        return _settings_refused(request, db, auth.user, exc)
    return _redirect("/settings?saved=1")


@router.post("/settings/delete-account", response_class=HTMLResponse)
def delete_account_submit(
    request: Request,
    db: DB,
    settings: AppSettings,
    auth: PageAuth,
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Deactivate now, erase after the grace period (see ``DELETE /api/v1/me``)."""
    from playback.lifecycle.service import do_deactivate

    if auth is None:
        return _redirect("/login")
    try:
        check_csrf(request, csrf_token_field)
        erase_after = do_deactivate(db, settings, auth.user, password)
    except DomainError as exc:
        return _settings_refused(request, db, auth.user, exc)
    response = _redirect(f"/login?left={erase_after.date().isoformat()}")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/settings/screen-time", response_class=HTMLResponse)
def screen_time_submit(
    request: Request,
    db: DB,
    auth: PageAuth,
    daily_minutes: Annotated[str, Form(max_length=10)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Set one's daily limit (see ``PUT /api/v1/me/screen-time``)."""
    from playback.safety.screen_time import do_set_limit

    if auth is None:
        return _redirect("/login?next=/settings")
    try:
        check_csrf(request, csrf_token_field)
        minutes = int(daily_minutes) if daily_minutes.strip() else None
        do_set_limit(db, auth.user, minutes)
    except ValueError:
        error = Invalid("The daily limit is a number of minutes.", code="invalid_screen_time")
        return _settings_refused(request, db, auth.user, error)
    except DomainError as exc:
        return _settings_refused(request, db, auth.user, exc)
    return _redirect("/settings?saved=1")


@router.post("/settings/break", response_class=HTMLResponse)
def break_submit(
    request: Request,
    db: DB,
    auth: PageAuth,
    until: Annotated[str, Form(max_length=20)] = "",
    message: Annotated[str, Form(max_length=1000)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Take a break or change it (see ``PUT /api/v1/me/break``); an empty date: open-ended."""
    if auth is None:
        return _redirect("/login?next=/settings")
    try:
        check_csrf(request, csrf_token_field)
        day = dt.date.fromisoformat(until.strip()) if until.strip() else None
        breaks.do_start_break(db, auth.user, until=day, message=message)
    except ValueError:
        error = Invalid("The last day of the break is a date.", code="invalid_break_until")
        return _settings_refused(request, db, auth.user, error)
    except DomainError as exc:
        return _settings_refused(request, db, auth.user, exc)
    return _redirect("/settings?saved=1")


@router.post("/settings/break/end", response_class=HTMLResponse)
def break_end_submit(
    request: Request,
    db: DB,
    auth: PageAuth,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """End the break now (see ``DELETE /api/v1/me/break``)."""
    if auth is None:
        return _redirect("/login?next=/settings")
    try:
        check_csrf(request, csrf_token_field)
        breaks.do_end_break(db, auth.user)
    except DomainError as exc:
        return _settings_refused(request, db, auth.user, exc)
    return _redirect("/settings?saved=1")


@router.post("/settings/logout-everywhere")
def logout_everywhere(
    request: Request,
    db: DB,
    auth: PageAuth,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    if auth is None:
        return _redirect("/login")
    check_csrf(request, csrf_token_field)
    service.do_logout_everywhere(db, auth.user)
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
