"""Who is asking: Bearer tokens for API clients, an HttpOnly cookie plus a CSRF token for pages.

A request authenticated by cookie must prove it came from our own pages for every state-changing
method: the ``X-CSRF-Token`` header (or the form's ``csrf_token`` field) carries an HMAC of the
session token that only our pages can know.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from playback.accounts import service
from playback.accounts.models import AuthSession, User
from playback.config import Settings
from playback.errors import Forbidden, NotAuthenticated
from playback.kit.web import DB, SAFE_METHODS, AppSettings, Limiter, client_ip
from playback.safety.ratelimit import ActionLimit, RateLimiter, check_action

SESSION_COOKIE = "pb_session"
CSRF_COOKIE = "pb_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass
class Auth:
    session: AuthSession
    user: User
    token: str
    via: str  # "bearer" or "cookie"


def _sign(settings: Settings, message: str) -> str:
    key = settings.resolved_secret_key.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request, csrf_cookie: str | None = None) -> str:
    """The CSRF token our pages embed: bound to the session when logged in, otherwise to the
    anonymous ``pb_csrf`` cookie (double submit, signed so that a planted cookie is useless)."""
    settings: Settings = request.app.state.settings
    session_token = request.cookies.get(SESSION_COOKIE)
    if session_token and getattr(request.state, "auth", None) is not None:
        return _sign(settings, "session:" + session_token)
    anon = csrf_cookie or request.cookies.get(CSRF_COOKIE) or ""
    return _sign(settings, "anon:" + anon)


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(request: Request, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise Forbidden("The form expired. Reload the page and try again.", code="csrf_failed")


def authenticate(request: Request, db: Session) -> Auth | None:
    """Resolve the caller once per request (cached on ``request.state``)."""
    if hasattr(request.state, "auth"):
        cached: Auth | None = request.state.auth
        return cached
    auth: Auth | None = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        found = (
            service.get_session_user(db, token) if scheme.lower() == "bearer" and token else None
        )
        if found is None:
            raise NotAuthenticated("The token is invalid or expired.", code="invalid_token")
        auth = Auth(session=found[0], user=found[1], token=token, via="bearer")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        found = service.get_session_user(db, cookie) if cookie else None
        if found is not None and cookie is not None:
            auth = Auth(session=found[0], user=found[1], token=cookie, via="cookie")
    request.state.auth = auth
    if auth is not None:
        # API calls from our pages send the header; plain HTML forms are checked by the page.
        cookie_write = auth.via == "cookie" and request.method not in SAFE_METHODS
        if cookie_write and request.url.path.startswith("/api/"):
            check_csrf(request, request.headers.get(CSRF_HEADER))
        if request.method not in SAFE_METHODS:
            service.do_touch_session(db, auth.session)
    return auth


def _optional_auth(request: Request, db: DB) -> Auth | None:
    return authenticate(request, db)


def _required_auth(request: Request, db: DB) -> Auth:
    auth = authenticate(request, db)
    if auth is None:
        raise NotAuthenticated()
    return auth


def _required_user(auth: Annotated[Auth, Depends(_required_auth)]) -> User:
    return auth.user


def _optional_user(auth: Annotated[Auth | None, Depends(_optional_auth)]) -> User | None:
    return auth.user if auth else None


CurrentAuth = Annotated[Auth, Depends(_required_auth)]
CurrentUser = Annotated[User, Depends(_required_user)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]


LimitedAction = Literal["signup", "upload", "comment", "like", "follow"]


def rate_limited(action: LimitedAction) -> Any:
    """A route dependency that counts ``action`` for the caller's account and address and
    answers 429 (with ``Retry-After``) past the configured limit, before the route does
    anything (limits in ``Settings.<action>_limit``; Redis shares the counts between servers)."""

    def check(request: Request, db: DB, settings: AppSettings, limiter: Limiter) -> None:
        count_action(request, db, settings, limiter, action)

    return Depends(check)


def count_action(
    request: Request, db: Session, settings: Settings, limiter: RateLimiter, action: LimitedAction
) -> None:
    """Count ``action`` for the caller (see ``rate_limited``); raises ``TooManyRequests``."""
    if not settings.rate_limits:
        return
    try:
        auth = authenticate(request, db)
    except NotAuthenticated:
        auth = None  # counted by address; a route that needs the caller says 401 itself
    check_action(
        limiter,
        action,
        ActionLimit.parse(getattr(settings, f"{action}_limit")),
        account=str(auth.user.id) if auth else None,
        address=client_ip(request),
    )


def reads_the_caller(dependant: Any) -> bool:
    """Whether a route (its FastAPI ``Dependant``) looks at the caller's token: such a route
    answers 401 to an invalid or expired one, even where logging in is optional."""
    calls = {_optional_auth, _required_auth}
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call in calls:
            return True
        stack.extend(current.dependencies)
    return False
