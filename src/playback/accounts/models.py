"""Account tables: users and their login sessions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Entity

ACTIVE, DEACTIVATED, ERASING = "active", "deactivated", "erasing"
ACCOUNT_STATUSES = (ACTIVE, DEACTIVATED, ERASING)


class User(Entity):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_status_erase_after", "status", "erase_after"),)

    # Always stored lower-case: uniqueness is case-insensitive by construction.
    handle: Mapped[str] = mapped_column(String(24), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    birthdate: Mapped[dt.date] = mapped_column(Date)
    country: Mapped[str] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(30), default="")
    bio: Mapped[str] = mapped_column(String(80), default="")
    avatar_key: Mapped[str | None] = mapped_column(String(255))
    private: Mapped[bool] = mapped_column(default=False)
    role: Mapped[str] = mapped_column(String(16), default="user")
    handle_changed_at: Mapped[dt.datetime | None] = mapped_column()
    # Only an active account is shown to anyone. A deactivated one is hidden everywhere and its
    # contributions are left out of every count until its owner logs in again, or until
    # ``erase_after``, when the erasure job takes it ("erasing") and then removes it.
    status: Mapped[str] = mapped_column(String(12), default=ACTIVE, server_default=ACTIVE)
    erase_after: Mapped[dt.datetime | None] = mapped_column()

    # Teen protections (``age_policy``, ``safety/screen_time.py``, ``safety/family.py``). The
    # time zone decides quiet hours and when a day of screen time starts (IANA name).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The daily screen-time limit in minutes; None: the age band's default (0: no limit).
    screen_time_minutes: Mapped[int | None] = mapped_column()
    # The passcode that lifts the break screen for the rest of the day (hashed like passwords).
    screen_passcode_hash: Mapped[str | None] = mapped_column(String(255))
    screen_unlocked_on: Mapped[dt.date | None] = mapped_column(Date)
    # Who may comment on this person's videos, narrower than the age band allows (set by the
    # person, or by a parent through family pairing): "friends" or "nobody"; None: the band's.
    comment_audience: Mapped[str | None] = mapped_column(String(10))
    # Words that hold a comment on this person's videos for their review (one per line).
    comment_filter: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))

    # A creator's break (``breaks.py``): since when, its last day in the person's time zone
    # (None: until they end it) and a word for followers. Whether it still runs is computed from
    # the clock on every read; nothing flips it off.
    break_since: Mapped[dt.datetime | None] = mapped_column()
    break_until: Mapped[dt.date | None] = mapped_column(Date)
    break_message: Mapped[str | None] = mapped_column(String(80))
    # Others see no like counts on this person's videos (the owner always does).
    hide_like_counts: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Counts others see; caches of the rows that are the truth (filled by the social domains).
    follower_count: Mapped[int] = mapped_column(BigInteger, default=0)
    following_count: Mapped[int] = mapped_column(BigInteger, default=0)
    video_count: Mapped[int] = mapped_column(BigInteger, default=0)
    total_likes: Mapped[int] = mapped_column(BigInteger, default=0)


class FamilyLink(Entity):
    """Family pairing: a parent's adult account linked to a teen's by a one-time code the teen
    made. Until the parent enters it, ``parent_id`` is empty and the code waits (hashed)."""

    __tablename__ = "family_links"

    teen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[dt.datetime | None] = mapped_column()
    linked_at: Mapped[dt.datetime | None] = mapped_column()


class AuthSession(Entity):
    """A login. The client holds a random token; only its SHA-256 is stored."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id_expires_at", "user_id", "expires_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "api" (Bearer) or "web" (cookie)
    expires_at: Mapped[dt.datetime] = mapped_column()
    last_used_at: Mapped[dt.datetime] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
