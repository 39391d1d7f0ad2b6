"""Family pairing: a parent's adult account, linked to a teen's by a one-time code the teen
makes, sets the teen's daily screen time, who may comment on their videos and whether their
account is private; the teen sees who is linked and what they set.

A link counts only while both accounts are active and the teen is still under 18 (computed on
every use, like every age rule): otherwise the row stays but nothing is managed. Either side may
unlink; what the parent set stays as it is.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import secrets
import uuid
from dataclasses import dataclass
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts import service as accounts
from playback.accounts.age_policy import AgeBand, Audience
from playback.accounts.models import ACTIVE, FamilyLink, User
from playback.engagement.notifications import do_notify
from playback.errors import Conflict, Forbidden, Invalid, NotFound
from playback.kit.ids import new_id
from playback.kit.time import utcnow

# No 0/O or 1/I: the code is read off one screen and typed on another.
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 8
CODE_TTL: Final = dt.timedelta(minutes=15)
# What a parent may set as the daily limit; None (the band's default) is allowed too, "no
# limit" (0) is not: pairing exists to protect, and 1440 minutes already means all day.
PARENT_MINUTES_MIN: Final = 15
PARENT_MINUTES_MAX: Final = 1440

AudienceChoice = Literal["everyone", "friends", "nobody"]


class Keep(enum.Enum):
    KEEP = "keep"


KEEP: Final = Keep.KEEP  # "leave this setting as it is" (None means "the band's default")


@dataclass(frozen=True)
class Controls:
    """What a linked parent controls, as it is now."""

    screen_time_minutes: int | None  # the setting; None: the band's default, 0: no limit
    daily_limit_minutes: int | None  # what applies; None: no limit
    comment_audience: Audience  # what applies: the band's rule narrowed by the setting
    private: bool


@dataclass(frozen=True)
class LinkedTeen:
    teen: User
    linked_at: dt.datetime
    controls: Controls


@dataclass(frozen=True)
class Family:
    """Someone's side of family pairing: as a teen (their parent, a waiting code, their
    controls) and as a parent (the teens they manage)."""

    is_teen: bool
    parent: User | None
    pending_code_expires_at: dt.datetime | None
    controls: Controls | None  # teens only
    teens: list[LinkedTeen]

    @property
    def managed(self) -> bool:
        return self.parent is not None


# --- who counts -----------------------------------------------------------------------------


def _counts(user: User) -> bool:
    """Whether an account takes part in pairing now (a banned one is as good as gone)."""
    return user.status == ACTIVE and user.role != accounts.BANNED


def is_teen(user: User) -> bool:
    return age_policy.age_band(user.birthdate) is not AgeBand.ADULT


def _is_live(link: FamilyLink, teen: User, parent: User | None) -> bool:
    return (
        link.parent_id is not None
        and link.linked_at is not None
        and parent is not None
        and _counts(teen)
        and _counts(parent)
        and is_teen(teen)
    )


def get_link(db: Session, teen_id: uuid.UUID) -> FamilyLink | None:
    """The teen's link row, linked or waiting for its code (None: never paired)."""
    return db.scalar(sa.select(FamilyLink).where(FamilyLink.teen_id == teen_id))


def managed_by(db: Session, teen_id: uuid.UUID) -> User | None:
    """The parent who manages this teen's settings now, or None."""
    row = db.execute(
        sa.select(FamilyLink, User)
        .join(User, User.id == FamilyLink.parent_id)
        .where(FamilyLink.teen_id == teen_id)
    ).first()
    if row is None:
        return None
    link, parent = row
    teen = accounts.get_user(db, teen_id)
    return parent if teen is not None and _is_live(link, teen, parent) else None


def _linked(link: FamilyLink, teen: User) -> LinkedTeen:
    if link.linked_at is None:  # a waiting code: nobody manages the teen yet
        raise NotFound("teen")
    return LinkedTeen(teen=teen, linked_at=link.linked_at, controls=controls_of(teen))


def controls_of(teen: User) -> Controls:
    limit = age_policy.daily_minutes(teen)
    return Controls(
        screen_time_minutes=teen.screen_time_minutes,
        daily_limit_minutes=limit or None,
        comment_audience=age_policy.comment_audience(teen),
        private=teen.private,
    )


# --- the teen's code ------------------------------------------------------------------------


def _new_code(db: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        # An old, unused code may still hold the same hash (a 1 in 2^40 chance per row).
        taken = db.scalar(
            sa.select(FamilyLink.id).where(FamilyLink.code_hash == accounts.hash_token(code))
        )
        if taken is None:
            return code


def do_make_code(db: Session, teen: User) -> tuple[str, dt.datetime]:
    """A one-time code for a parent to enter within ``CODE_TTL``; a new one replaces the code
    still waiting. Only the code's hash is kept."""
    if not _counts(teen) or not is_teen(teen):
        raise Forbidden("Only teen accounts are linked to a parent.", code="not_a_teen")
    link = get_link(db, teen.id)
    if link is not None and link.parent_id is not None:
        if managed_by(db, teen.id) is not None:
            raise Conflict("Your account is already linked to a parent.", code="already_linked")
        # The parent's account is gone (or banned): the teen may pair with someone else.
        link.parent_id, link.linked_at = None, None
    code = _new_code(db)
    expires_at = utcnow() + CODE_TTL
    if link is None:
        link = FamilyLink(id=new_id(), teen_id=teen.id)
        db.add(link)
    link.code_hash = accounts.hash_token(code)
    link.code_expires_at = expires_at
    try:
        db.flush()
    except sa.exc.IntegrityError as exc:  # the same teen asked twice at once
        raise Conflict("A code was just made; try again.", code="code_conflict") from exc
    return code, expires_at


def _normalized(code: str) -> str:
    # People type what they read: lower case, spaces and dashes are forgiven.
    return "".join(ch for ch in code.upper() if ch not in " -")


# --- the parent -----------------------------------------------------------------------------


def do_link(db: Session, parent: User, code: str) -> LinkedTeen:
    """Link ``parent`` to the teen whose code this is: 403 ``parent_must_be_adult`` for anyone
    under 18, 404 ``code_not_found`` for a wrong, expired or used code."""
    if not _counts(parent) or is_teen(parent):
        raise Forbidden("Only an adult can be a linked parent.", code="parent_must_be_adult")
    digest = accounts.hash_token(_normalized(code))
    now = utcnow()
    link = db.scalar(
        sa.select(FamilyLink).where(
            FamilyLink.code_hash == digest,
            FamilyLink.parent_id.is_(None),
            FamilyLink.code_expires_at > now,
        )
    )
    # The teen must still be a teen, so nobody can enter their own code (parents are adults).
    teen = accounts.get_user(db, link.teen_id) if link is not None else None
    if link is None or teen is None or not _counts(teen) or not is_teen(teen):
        raise NotFound("code", "That code is wrong, used or expired.")
    # Guarded on the code: of two parents entering it at once, only one links.
    claimed = db.execute(
        sa.update(FamilyLink)
        .where(FamilyLink.id == link.id, FamilyLink.code_hash == digest)
        .values(parent_id=parent.id, linked_at=now, code_hash=None, code_expires_at=None)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise NotFound("code", "That code is wrong, used or expired.")
    do_notify(db, teen.id, "family_linked", actor_id=parent.id)
    return LinkedTeen(teen=teen, linked_at=now, controls=controls_of(teen))


def access_teen(db: Session, parent: User, handle: str) -> tuple[User, FamilyLink]:
    """The teen at ``handle`` whose linked parent is ``parent`` (live link), else 404
    ``teen_not_found`` — the same answer for anyone else, so nothing leaks."""
    teen = accounts.get_user_by_handle(db, handle)
    link = get_link(db, teen.id) if teen is not None else None
    if teen is None or link is None or link.parent_id != parent.id:
        raise NotFound("teen")
    if not _is_live(link, teen, parent):
        raise NotFound("teen")
    return teen, link


def check_controls(
    teen: User,
    *,
    screen_time_minutes: int | Keep | None = KEEP,
    private: bool | None = None,
) -> None:
    """What a parent may set: 15–1440 minutes a day or the band's default (None); and never a
    public account for someone the age policy keeps private."""
    if isinstance(screen_time_minutes, int) and not (
        PARENT_MINUTES_MIN <= screen_time_minutes <= PARENT_MINUTES_MAX
    ):
        raise Invalid(
            f"Set {PARENT_MINUTES_MIN}–{PARENT_MINUTES_MAX} minutes a day, or the default.",
            code="invalid_screen_time",
        )
    if private is False and not age_policy.may_be_public(teen.birthdate):
        raise Forbidden("Accounts of people under 16 stay private.", code="private_required")


def do_set_controls(
    db: Session,
    parent: User,
    handle: str,
    *,
    screen_time_minutes: int | Keep | None = KEEP,
    comment_audience: AudienceChoice | None = None,
    private: bool | None = None,
) -> LinkedTeen:
    """The linked parent changes the teen's controls (``KEEP``/None: unchanged, except that a
    None screen time means the band's default). "everyone" as the comment audience stores no
    choice, so the band's rule applies: a parent only ever narrows it. The teen is told."""
    teen, link = access_teen(db, parent, handle)
    check_controls(teen, screen_time_minutes=screen_time_minutes, private=private)
    changes: dict[str, object] = {}
    if not isinstance(screen_time_minutes, Keep):
        changes["screen_time_minutes"] = screen_time_minutes
    if comment_audience is not None:
        changes["comment_audience"] = None if comment_audience == "everyone" else comment_audience
    if private is not None:
        changes["private"] = private
    changed = False
    for name, value in changes.items():
        if getattr(teen, name) != value:
            setattr(teen, name, value)
            changed = True
    if changed:
        db.flush()
        do_notify(db, teen.id, "family_changed", actor_id=parent.id)
    return _linked(link, teen)


# --- what each side sees --------------------------------------------------------------------


def get_family(db: Session, user: User) -> Family:
    """``user``'s family pairing: their parent if they are a teen, the teens they manage."""
    teen_side = is_teen(user)
    parent: User | None = None
    pending: dt.datetime | None = None
    if teen_side:
        link = get_link(db, user.id)
        if link is not None:
            parent = managed_by(db, user.id)
            if (
                link.parent_id is None
                and link.code_expires_at is not None
                and link.code_expires_at > utcnow()
            ):
                pending = link.code_expires_at
    return Family(
        is_teen=teen_side,
        parent=parent,
        pending_code_expires_at=pending,
        controls=controls_of(user) if teen_side else None,
        teens=list_teens(db, user),
    )


def list_teens(db: Session, parent: User) -> list[LinkedTeen]:
    """The teens ``parent`` manages now, the earliest linked first (a handful at most)."""
    if is_teen(parent) or not _counts(parent):
        return []
    rows = db.execute(
        sa.select(FamilyLink, User)
        .join(User, User.id == FamilyLink.teen_id)
        .where(FamilyLink.parent_id == parent.id)
        .order_by(FamilyLink.linked_at, FamilyLink.id)
    ).all()
    return [_linked(link, teen) for link, teen in rows if _is_live(link, teen, parent)]


# --- unlinking ------------------------------------------------------------------------------


def do_unlink_parent(db: Session, teen: User) -> None:
    """The teen ends their pairing (or withdraws a waiting code); a linked parent is told."""
    link = get_link(db, teen.id)
    if link is None:
        raise NotFound("family_link", "Your account is not linked to a parent.")
    parent_id = link.parent_id
    db.delete(link)
    db.flush()
    if parent_id is not None:
        do_notify(db, parent_id, "family_unlinked", actor_id=teen.id)


def do_unlink_teen(db: Session, parent: User, handle: str) -> None:
    """The parent ends their pairing with a teen (even one who has since turned 18 or left);
    the teen is told."""
    teen = accounts.get_user_by_handle(db, handle)
    link = get_link(db, teen.id) if teen is not None else None
    if teen is None or link is None or link.parent_id != parent.id:
        raise NotFound("teen")
    db.delete(link)
    db.flush()
    do_notify(db, teen.id, "family_unlinked", actor_id=parent.id)


# --- the teen's own changes -----------------------------------------------------------------


def _limit(minutes: int | None, teen: User) -> float:
    """A daily limit as a number to compare (no limit: infinity)."""
    chosen = minutes if minutes is not None else age_policy.rules_of(teen).daily_minutes
    return math.inf if not chosen else float(chosen)


def check_teen_may_change(
    db: Session,
    teen: User,
    *,
    screen_time: int | Keep | None = KEEP,
    comment_audience: str | Keep | None = KEEP,
    private: bool | None = None,
) -> None:
    """While a parent manages the teen, the teen may tighten these settings but not loosen
    them: 403 ``managed_by_parent`` for a longer daily limit (None: the band's default, 0: no
    limit), a wider comment-audience setting (None or "everyone": no narrowing of the band's
    rule) or going public.
    Arguments left at ``KEEP`` (``private``: None) are not being changed."""
    if not is_teen(teen) or managed_by(db, teen.id) is None:
        return  # adults are never managed: no query on their every profile change
    refused = Forbidden(
        "Your linked parent manages this setting; you can only make it stricter.",
        code="managed_by_parent",
    )
    if not isinstance(screen_time, Keep) and _limit(screen_time, teen) > _limit(
        teen.screen_time_minutes, teen
    ):
        raise refused
    if not isinstance(comment_audience, Keep):
        # Compared as settings, not as what applies today: dropping a parent's "friends" that
        # the 13–15 band repeats would open the comments on the teen's 16th birthday.
        stored = accounts.check_comment_audience(comment_audience) if comment_audience else None
        wanted = Audience(stored or Audience.EVERYONE)
        current = Audience(teen.comment_audience or Audience.EVERYONE)
        if wanted is not current and age_policy.narrowest(wanted, current) is current:
            raise refused
    if private is False and teen.private:
        raise refused
