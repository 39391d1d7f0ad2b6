"""The music catalog and its terms: labels, sounds (licensed tracks and original sounds),
licences, the deliveries they came in, and the ledger of every use of a sound."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Base, Entity
from playback.kit.time import utcnow

SOUND_KINDS = ("track", "original")
DEFAULT_MAX_CLIP_MS = 60_000
# The DDEX use type that lets people put a label's track in videos they make.
USER_USE = "UserMakeAvailableUserProvided"


class Label(Entity):
    """A rights holder, known by its DDEX party id (DPID)."""

    __tablename__ = "labels"

    party_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))


class Delivery(Entity):
    """An ERN message that was imported. The sender's message id identifies it: importing the
    same message again updates what it delivered."""

    __tablename__ = "ddex_deliveries"
    __table_args__ = (UniqueConstraint("sender_party_id", "message_id"),)

    label_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    sender_party_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(200))
    message_created_at: Mapped[dt.datetime] = mapped_column()
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    track_count: Mapped[int] = mapped_column(Integer, default=0)


class Sound(Entity):
    """What plays under a video: a label's track (``kind="track"``) or the audio of someone's
    upload (``kind="original"``, shown as "original sound – @handle")."""

    __tablename__ = "sounds"
    __table_args__ = (Index("ix_sounds_kind_id", "kind", "id"),)

    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    artist: Mapped[str] = mapped_column(String(300), default="")
    duration_ms: Mapped[int] = mapped_column(Integer)
    audio_key: Mapped[str] = mapped_column(String(300))  # AAC in MP4, 48 kHz stereo
    cover_key: Mapped[str | None] = mapped_column(String(300))
    credit: Mapped[str] = mapped_column(Text, default="")  # attribution shown on the sound page

    # Tracks: where they came from.
    isrc: Mapped[str | None] = mapped_column(String(12), unique=True)
    label_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), index=True
    )
    release_title: Mapped[str | None] = mapped_column(String(300))
    icpn: Mapped[str | None] = mapped_column(String(14))

    # Original sounds: whose upload it is, and whether others may use it.
    origin_video_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL", use_alter=True), index=True
    )
    origin_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reuse_allowed: Mapped[bool] = mapped_column(default=True)


class Licence(Entity):
    """A label's terms for one track, from one deal of a delivery. A track may be used where
    and when any of its licences allows it."""

    __tablename__ = "licences"
    __table_args__ = (Index("ix_licences_sound_id_starts_on", "sound_id", "starts_on"),)

    label_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    sound_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"))
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ddex_deliveries.id", ondelete="SET NULL"), index=True
    )
    # Space-separated ISO 3166-1 alpha-2 codes, or "Worldwide"; exclusions apply to Worldwide.
    territories: Mapped[str] = mapped_column(Text)
    excluded_territories: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)  # inclusive; None: open-ended
    max_clip_ms: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_CLIP_MS)
    uses: Mapped[str] = mapped_column(Text, default=USER_USE)  # space-separated DDEX use types
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()


class SoundUse(Base):
    """One video made with a sound, kept when the video or its maker is gone: usage reports and
    trends count these, never the live videos."""

    __tablename__ = "sound_uses"
    __table_args__ = (
        Index("ix_sound_uses_sound_id_created_at", "sound_id", "created_at"),
        Index("ix_sound_uses_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    sound_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), unique=True
    )
    territory: Mapped[str] = mapped_column(String(2))  # the creator's country at the time
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
