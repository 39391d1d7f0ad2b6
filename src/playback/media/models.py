"""Videos, their hashtags and mentions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Base, Entity

VISIBILITIES = ("public", "followers", "private")
# "removed": taken down by a moderator (hidden from everyone but its creator; an appeal may
# restore it). "withdrawn": a ready video of a deactivated account (ready again if its owner
# comes back).
STATUSES = ("processing", "ready", "failed", "removed", "withdrawn")
REMIX_KINDS = ("duet", "stitch")


class Video(Entity):
    __tablename__ = "videos"
    __table_args__ = (
        # Feeds walk the newest ready videos; a creator's grid walks theirs (both keyset on id).
        Index("ix_videos_status_id", "status", "id"),
        Index("ix_videos_creator_id_status_id", "creator_id", "status", "id"),
        Index("ix_videos_status_lease_until", "status", "lease_until"),
        Index("ix_videos_status_ready_at", "status", "ready_at"),
        # A sound's page lists its most viewed videos.
        Index("ix_videos_sound_id_status_view_count", "sound_id", "status", "view_count"),
    )

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="processing")
    error_code: Mapped[str | None] = mapped_column(String(40))
    caption: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    allow_comments: Mapped[bool] = mapped_column(default=True)
    allow_duet: Mapped[bool] = mapped_column(default=True)
    allow_stitch: Mapped[bool] = mapped_column(default=True)

    # What was uploaded, and what was made of it.
    source_container: Mapped[str] = mapped_column(String(16))
    original_key: Mapped[str] = mapped_column(String(300))
    video_key: Mapped[str | None] = mapped_column(String(300))
    poster_key: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    remuxed: Mapped[bool | None] = mapped_column()
    ready_at: Mapped[dt.datetime | None] = mapped_column()

    # Columns added after the table existed carry server defaults, so existing rows get them.
    # The sound under the video: a licensed track segment starting at ``sound_offset_ms`` (mixed
    # at ``sound_volume`` with the clip's own audio at ``clip_volume``, in percent), or the
    # video's own original sound. ``sound_muted`` is set while no licence covers the track;
    # the video then plays ``muted_video_key``, the same picture without the track.
    sound_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sounds.id", ondelete="SET NULL"))
    sound_offset_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sound_volume: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    clip_volume: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sound_muted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Restricted by a moderator: still on its creator's profile, never recommended (For You).
    restricted: Mapped[bool] = mapped_column(default=False, server_default=false())
    muted_video_key: Mapped[str | None] = mapped_column(String(300))

    # Duets and stitches: the video they answer, and for a stitch the part of it that is used.
    remix_kind: Mapped[str | None] = mapped_column(String(8))
    remix_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), index=True
    )
    remix_start_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    remix_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Counts others see: caches of the engagement rows (see engagement/counters.py).
    like_count: Mapped[int] = mapped_column(BigInteger, default=0)
    view_count: Mapped[int] = mapped_column(BigInteger, default=0)
    comment_count: Mapped[int] = mapped_column(BigInteger, default=0)
    share_count: Mapped[int] = mapped_column(BigInteger, default=0)
    save_count: Mapped[int] = mapped_column(BigInteger, default=0)

    # The processing job's claim: a worker holds the video until ``lease_until`` and renews it
    # while it works; an expired lease on a processing video means its worker died.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column()


class Hashtag(Entity):
    __tablename__ = "hashtags"

    name: Mapped[str] = mapped_column(String(100), unique=True)


class VideoHashtag(Base):
    __tablename__ = "video_hashtags"
    __table_args__ = (Index("ix_video_hashtags_hashtag_id_video_id", "hashtag_id", "video_id"),)

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    hashtag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hashtags.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class VideoMention(Base):
    """A mention in a caption. ``user_id`` is set when the handle belonged to someone at the
    time; mentions of unknown handles stay as text."""

    __tablename__ = "video_mentions"

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    handle: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
