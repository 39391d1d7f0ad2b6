"""Sound response bodies."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from playback.media.schemas import Creator, VideoOut


class SoundOut(BaseModel):
    id: uuid.UUID
    kind: str  # "track" or "original"
    title: str  # for original sounds: "original sound – @handle"
    artist: str
    origin: Creator | None  # original sounds: whose upload it came from (None once erased)
    origin_video_id: uuid.UUID | None
    label: str | None
    isrc: str | None
    credit: str
    duration_ms: int
    cover_url: str | None
    audio_url: str | None  # only for those who may use the sound
    use_count: int
    view_count: int
    reuse_allowed: bool
    usable: bool  # may the viewer make a video with it now
    unavailable_reason: str | None
    max_clip_ms: int | None


class SoundPage(BaseModel):
    items: list[SoundOut]
    next_cursor: str | None = None


class TrendingSoundOut(BaseModel):
    sound: SoundOut
    uses_24h: int
    uses_7d: int
    growth_24h: float
    growth_7d: float


class TrendingSounds(BaseModel):
    items: list[TrendingSoundOut]


class SoundVideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None


class SoundPatch(BaseModel):
    reuse_allowed: bool = Field(description="Whether others may make videos with this sound.")
