"""Account rules: signup with the age policy, sessions, and profile changes.

Services never commit: the request or job that calls them owns the unit of work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
import uuid
from zoneinfo import available_timezones

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.avatars import render_avatar
from playback.accounts.models import ACTIVE, DEACTIVATED, ERASING, AuthSession, User
from playback.accounts.passwords import hash_password, needs_rehash, verify_password
from playback.config import Settings
from playback.db import after_commit, after_rollback
from playback.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.safety.ratelimit import RateLimiter, check_limit
from playback.storage import Storage

HANDLE_RE = re.compile(r"[a-z0-9._]{2,24}")
RESERVED_HANDLES = frozenset(
    """
    about account accounts admin administrator api app apps auth blog explore feed following
    foryou for_you help home inbox login logout me media moderator new notifications null
    official playback privacy root search security settings signup sound sounds static staff
    studio support system tag tags terms test undefined upload user users video videos www
    """.split()  # noqa: SIM905 - a word list reads best as text
)
PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 30
BIO_MAX = 80
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
OLDEST_BIRTHDATE = dt.date(1900, 1, 1)
SESSION_TOUCH_INTERVAL = dt.timedelta(hours=1)


# --- checks -------------------------------------------------------------------------------


def check_handle(text: str) -> str:
    """The normalised (lower-case) handle, or ``invalid_handle`` / ``reserved_handle``."""
    # ASCII first: Unicode case folding would turn e.g. the Kelvin sign into a plain "k".
    if not text.isascii():
        raise Invalid("Handles use only letters a–z, digits, '.' and '_'.", code="invalid_handle")
    handle = text.lower()
    if not HANDLE_RE.fullmatch(handle):
        raise Invalid(
            "A handle is 2–24 characters of letters a–z, digits, '.' and '_'.",
            code="invalid_handle",
        )
    if handle.startswith(".") or handle.endswith(".") or ".." in handle:
        raise Invalid("A handle cannot start or end with '.' or repeat it.", code="invalid_handle")
    if handle in RESERVED_HANDLES:
        raise Invalid("That handle is reserved.", code="reserved_handle")
    return handle


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise Invalid(
            f"A password has at least {PASSWORD_MIN} characters.", code="password_too_short"
        )
    if len(password) > PASSWORD_MAX:
        raise Invalid(
            f"A password has at most {PASSWORD_MAX} characters.", code="password_too_long"
        )
    return password


def check_birthdate(birthdate: dt.date) -> dt.date:
    if birthdate > utcnow().date() or birthdate < OLDEST_BIRTHDATE:
        raise Invalid("Enter your real date of birth.", code="invalid_birthdate")
    return birthdate


def check_country(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 2 or not code.isascii() or pycountry.countries.get(alpha_2=code) is None:
        raise Invalid("Use an ISO 3166-1 alpha-2 country code.", code="invalid_country")
    return code


def check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise Invalid("That is not an email address.", code="invalid_email")
    return email


def _has_control_characters(text: str, allow_newlines: bool) -> bool:
    for ch in text:
        if allow_newlines and ch == "\n":
            continue
        category = unicodedata.category(ch)
        # Cc: control characters; Cf: invisible formatting (bidi overrides) — except the joiners
        # that emoji sequences need.
        if category == "Cc" or (category == "Cf" and ch not in "\u200d\ufe0f"):
            return True
    return False


def check_time_zone(name: str) -> str:
    if name not in available_timezones():
        raise Invalid(
            "The time zone is an IANA name, e.g. Europe/Berlin.", code="invalid_time_zone"
        )
    return name


def check_comment_audience(value: str) -> str | None:
    """Stored only as a narrowing of the age band's rule: "everyone" stores nothing."""
    try:
        audience = age_policy.Audience(value)
    except ValueError:
        raise Invalid(
            "Who may comment is everyone, friends or nobody.", code="invalid_comment_audience"
        ) from None
    return None if audience is age_policy.Audience.EVERYONE else audience.value


def check_display_name(text: str) -> str:
    text = unicodedata.normalize("NFC", text.strip())
    if len(text) > DISPLAY_NAME_MAX or _has_control_characters(text, allow_newlines=False):
        raise Invalid(
            f"A name has at most {DISPLAY_NAME_MAX} visible characters.",
            code="invalid_display_name",
        )
    return text


def check_bio(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").strip())
    if len(text) > BIO_MAX:
        raise Invalid(f"A bio has at most {BIO_MAX} characters.", code="bio_too_long")
    if _has_control_characters(text, allow_newlines=True):
        raise Invalid("A bio cannot contain control characters.", code="invalid_bio")
    return text


# --- users --------------------------------------------------------------------------------


def get_user_by_handle(db: Session, handle: str) -> User | None:
    if not handle.isascii():
        return None
    return db.scalar(sa.select(User).where(User.handle == handle.lower()))


def get_user(db: Session, user_id: uuid.UUID) -> User | None:
    return db.get(User, user_id)


def access_profile(db: Session, handle: str, viewer: User | None) -> User:
    """The profile at ``handle`` as ``viewer`` may see it, or ``user_not_found``.

    Private accounts still show their profile header; what they hide is their videos. Someone
    blocked (either way) gets 404, and so does a banned or deactivated account."""
    user = get_user_by_handle(db, handle)
    if user is None:
        raise NotFound("user")
    return visible_profile(db, user, viewer)


def visible_profile(db: Session, user: User, viewer: User | None) -> User:
    """``user`` if ``viewer`` may see their profile (see ``access_profile``), else 404."""
    from playback.social.service import is_blocked_either_way

    if user.role == BANNED or user.status != ACTIVE:
        raise NotFound("user")
    if (
        viewer is not None
        and viewer.id != user.id
        and is_blocked_either_way(db, viewer.id, user.id)
    ):
        raise NotFound("user")
    return user


def do_signup(
    db: Session,
    *,
    handle: str,
    password: str,
    birthdate: dt.date,
    country: str,
    email: str | None = None,
    time_zone: str | None = None,
) -> User:
    handle = check_handle(handle)
    check_password(password)
    check_birthdate(birthdate)
    country = check_country(country)
    email = check_email(email)
    time_zone = check_time_zone(time_zone) if time_zone else age_policy.default_time_zone(country)
    # The age gate comes before anything touches the database, and the birthdate of someone
    # refused is never stored or logged.
    if not age_policy.is_old_enough(birthdate, country):
        raise Forbidden("You are not old enough to use Playback.", code="underage")
    if get_user_by_handle(db, handle) is not None:
        raise Conflict("That handle is taken.", code="handle_taken")
    if email is not None and db.scalar(sa.select(User.id).where(User.email == email)):
        raise Conflict("That email address is already used.", code="email_taken")
    user = User(
        id=new_id(),
        handle=handle,
        password_hash=hash_password(password),
        birthdate=birthdate,
        country=country,
        email=email,
        display_name=handle,
        private=age_policy.private_by_default(birthdate),
        time_zone=time_zone,
    )
    db.add(user)
    try:
        db.flush()
    except sa.exc.IntegrityError as exc:  # lost a race for the same handle or email
        raise Conflict("That handle is taken.", code="handle_taken") from exc
    return user


def do_update_profile(
    db: Session,
    user: User,
    *,
    display_name: str | None = None,
    bio: str | None = None,
    private: bool | None = None,
    time_zone: str | None = None,
    comment_audience: str | None = None,
    hide_like_counts: bool | None = None,
) -> User:
    from playback.safety.family import KEEP, check_teen_may_change

    check_teen_may_change(  # a parent linked by family pairing decides what may loosen
        db,
        user,
        comment_audience=comment_audience if comment_audience is not None else KEEP,
        private=private,
    )
    changes: dict[str, object] = {}
    if time_zone is not None:
        changes["time_zone"] = check_time_zone(time_zone)
    if comment_audience is not None:
        changes["comment_audience"] = check_comment_audience(comment_audience)
    if display_name is not None:
        changes["display_name"] = check_display_name(display_name)
    if bio is not None:
        changes["bio"] = check_bio(bio)
    if private is False and not age_policy.may_be_public(user.birthdate):
        raise Forbidden("Accounts of people under 16 stay private.", code="private_required")
    if private is not None:
        changes["private"] = private
    if hide_like_counts is not None:
        changes["hide_like_counts"] = hide_like_counts
    for name, value in changes.items():
        setattr(user, name, value)
    db.flush()
    return user


def do_change_handle(db: Session, user: User, new_handle: str) -> User:
    handle = check_handle(new_handle)
    if handle == user.handle:
        return user
    if get_user_by_handle(db, handle) is not None:
        raise Conflict("That handle is taken.", code="handle_taken")
    user.handle = handle
    user.handle_changed_at = utcnow()
    try:
        db.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("That handle is taken.", code="handle_taken") from exc
    return user


def do_set_avatar(db: Session, storage: Storage, user: User, data: bytes) -> User:
    """Store a new avatar; the old file goes once the change has committed, and the new one
    is removed again if it does not."""
    rendered = render_avatar(data)
    key = f"avatars/{user.id}/{new_id()}.jpg"
    storage.put_bytes(key, rendered)
    after_rollback(db, lambda: storage.delete(key))
    old_key, user.avatar_key = user.avatar_key, key
    if old_key:
        after_commit(db, lambda: storage.delete(old_key))
    db.flush()
    return user


def do_remove_avatar(db: Session, storage: Storage, user: User) -> User:
    old_key, user.avatar_key = user.avatar_key, None
    if old_key:
        after_commit(db, lambda: storage.delete(old_key))
    db.flush()
    return user


# --- sessions -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


BANNED = "banned"  # the role of an account a moderator banned: no login, nothing shown
MODERATOR_ROLES = ("moderator", "admin")


def do_login(
    db: Session,
    limiter: RateLimiter,
    settings: Settings,
    *,
    handle: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    kind: str,
) -> tuple[AuthSession, str]:
    """A new session for the right password. Failed attempts count against the handle and the
    client address; past the limit every attempt is refused with 429 until the window ends."""
    normalized = handle.lower() if handle.isascii() else handle
    handle_key, ip_key = f"login:handle:{normalized}", f"login:ip:{ip or 'unknown'}"
    check_limit(limiter, handle_key, settings.login_limit_per_handle)
    check_limit(limiter, ip_key, settings.login_limit_per_ip)
    user = get_user_by_handle(db, handle)
    if user is not None and user.status == ERASING:
        user = None  # being erased: as good as gone
    if not verify_password(user.password_hash if user else None, password) or user is None:
        limiter.record(handle_key, settings.login_limit_window_seconds)
        limiter.record(ip_key, settings.login_limit_window_seconds)
        raise NotAuthenticated("Wrong handle or password.", code="invalid_credentials")
    limiter.reset(handle_key)
    if user.role == BANNED:
        raise Forbidden("This account was banned for breaking the rules.", code="account_banned")
    if user.status == DEACTIVATED:  # back before the erasure: everything returns
        from playback.lifecycle.service import do_reactivate

        do_reactivate(db, user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = AuthSession(
        id=new_id(),
        user_id=user.id,
        token_hash=hash_token(token),
        kind=kind,
        expires_at=now + dt.timedelta(days=settings.session_days),
        last_used_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:512] or None,
    )
    db.add(session)
    db.flush()
    return session, token


def get_session_user(db: Session, token: str) -> tuple[AuthSession, User] | None:
    """The live session and its user for a token, or None (unknown or expired)."""
    row = db.execute(
        sa.select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(
            AuthSession.token_hash == hash_token(token),
            AuthSession.expires_at > utcnow(),
            User.status == ACTIVE,
        )
    ).first()
    if row is None:
        return None
    return row[0], row[1]


def do_touch_session(db: Session, session: AuthSession) -> None:
    """Remember when a session was last used, at most once an hour (no write per request)."""
    now = utcnow()
    if now - session.last_used_at >= SESSION_TOUCH_INTERVAL:
        session.last_used_at = now
        db.flush()


def do_logout(db: Session, session: AuthSession) -> None:
    db.execute(sa.delete(AuthSession).where(AuthSession.id == session.id))


def do_logout_everywhere(db: Session, user: User) -> int:
    result = db.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def do_purge_expired_sessions(db: Session) -> int:
    result = db.execute(sa.delete(AuthSession).where(AuthSession.expires_at <= utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
