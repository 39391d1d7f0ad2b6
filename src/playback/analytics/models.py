"""Rollups: what the watch events, counts and searches add up to, per hour and per day.

Watch events are the truth; these tables are their sums, kept by the rollup job
(``rollups.run``) so the studio reads a few dozen rows however much a video is watched.
Distinct viewers cannot be summed across days, so each day keeps the set of its viewers as a
bitmap over a per-scope numbering of viewers (``AudienceMember``); a period's unique viewers is
the union of its days' bitmaps.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Base
from playback.kit.time import utcnow

# The platform's own scope in ``audience_members`` (a creator's scope is their user id).
PLATFORM = uuid.UUID(int=0)


class RollupState(Base):
    """How far a rollup has read: every watch event with ``id <= last_event_id`` is counted."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AudienceMember(Base):
    """A viewer's number within a scope (a creator, or the platform), the bit that stands for
    them in that scope's daily viewer bitmaps."""

    __tablename__ = "audience_members"
    __table_args__ = (
        # Erasure finds a person's numbers in every scope.
        Index("ix_audience_members_viewer_key", "viewer_key"),
        # A scope's next number, and no number given twice.
        Index("ix_audience_members_scope_id_idx", "scope_id", "idx", unique=True),
    )

    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    viewer_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer)


class _Plays:
    """The sums every rollup row keeps: plays (every watch event), views (the counted ones, as
    on the video's view count) and milliseconds watched."""

    plays: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class VideoHour(_Plays, Base):
    __tablename__ = "video_hours"

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)


class VideoDay(_Plays, Base):
    __tablename__ = "video_days"
    __table_args__ = (Index("ix_video_days_creator_id_day", "creator_id", "day"),)

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Watched time counted up to the video's length (for the average percentage watched).
    capped_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # Plays that reached the end.
    completes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Plays by whole seconds watched: little-endian uint32 counts, index s = plays that stopped
    # in second s (the last bucket holds the plays that reached the end).
    seconds: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class VideoSourceDay(_Plays, Base):
    __tablename__ = "video_source_days"

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)


class CreatorHour(_Plays, Base):
    __tablename__ = "creator_hours"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)


class CreatorDay(_Plays, Base):
    __tablename__ = "creator_days"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    viewers: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # see bitmaps.py


class CreatorMonth(Base):
    """The union of a creator's daily viewer sets over a calendar month (``month``: its first
    day), kept by the rollup with the days, so that a long period's unique viewers unite a few
    months and the days at its ends instead of every day."""

    __tablename__ = "creator_months"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    viewers: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # see bitmaps.py


class CreatorAudienceDay(_Plays, Base):
    """A creator's plays by a viewer attribute: ``dimension`` "age" (the viewer's age band on
    the day) or "country" (the event's territory)."""

    __tablename__ = "creator_audience_days"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)


class PlatformDay(_Plays, Base):
    """The whole platform's day: plays, and the accounts that watched (a bitmap over the
    platform scope's numbering) for daily, weekly and monthly active users and retention."""

    __tablename__ = "platform_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    active: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    active_count: Mapped[int] = mapped_column(Integer, default=0)


class TrendDay(_Plays, Base):
    """Plays of a hashtag's or a sound's videos in a country on a day (trends)."""

    __tablename__ = "trend_days"
    __table_args__ = (Index("ix_trend_days_day", "day"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "hashtag" or "sound"
    key_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    territory: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class SearchDay(Base):
    """How often a (normalised) query was searched on a day, and how many videos it found:
    what people look for that has few videos yet."""

    __tablename__ = "search_days"
    __table_args__ = (Index("ix_search_days_day", "day"),)

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[int] = mapped_column(BigInteger, default=0)  # summed over the searches
