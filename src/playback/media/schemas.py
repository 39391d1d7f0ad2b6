"""Video response bodies."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from playback.accounts.models import User
from playback.media.models import Video
from playback.storage import Storage


class Creator(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    avatar_url: str | None

    @classmethod
    def of(cls, user: User, storage: Storage) -> Creator:
        return cls(
            id=user.id,
            handle=user.handle,
            display_name=user.display_name,
            avatar_url=storage.url(user.avatar_key) if user.avatar_key else None,
        )


class UploadAccepted(BaseModel):
    id: uuid.UUID
    status: str


class VideoStats(BaseModel):
    likes: int | None = Field(
        description="null when the creator hides the like counts of their videos from you"
    )
    likes_hidden: bool = False
    views: int
    comments: int
    shares: int
    saves: int


class ViewerStateOut(BaseModel):
    """What the viewer has done to this video (all false for anonymous viewers)."""

    liked: bool
    saved: bool
    following_creator: str | None


class SoundCredit(BaseModel):
    """The sound a video credits."""

    id: uuid.UUID
    title: str
    artist: str
    available: bool  # False while the video is muted: "sound unavailable"


class RemixOf(BaseModel):
    """The video a duet or stitch answers (None when it is gone or hidden from the viewer)."""

    kind: str  # "duet" or "stitch"
    video_id: uuid.UUID | None
    creator_handle: str | None


class VideoOut(BaseModel):
    id: uuid.UUID
    status: str
    error_code: str | None
    creator: Creator
    caption: str
    hashtags: list[str]
    mentions: list[str]
    duration_ms: int | None
    width: int | None
    height: int | None
    video_url: str | None
    poster_url: str | None
    visibility: str
    allow_comments: bool
    allow_duet: bool
    allow_stitch: bool
    allow_download: bool = False  # for this viewer: GET /videos/{id}/download
    created_at: dt.datetime
    share_url: str | None = None
    stats: VideoStats | None = None
    me: ViewerStateOut | None = None
    reasons: list[str] = []
    sound: SoundCredit | None = None
    sound_offset_ms: int = 0
    remix: RemixOf | None = None

    @classmethod
    def of(
        cls, video: Video, creator: User, storage: Storage, tags: tuple[list[str], list[str]]
    ) -> VideoOut:
        ready = video.status == "ready"
        return cls(
            id=video.id,
            status=video.status,
            error_code=video.error_code,
            creator=Creator.of(creator, storage),
            caption=video.caption,
            hashtags=tags[0],
            mentions=tags[1],
            duration_ms=video.duration_ms,
            width=video.width if ready else None,
            height=video.height if ready else None,
            video_url=storage.url(key) if ready and (key := playable_key(video)) else None,
            poster_url=storage.url(video.poster_key) if ready and video.poster_key else None,
            visibility=video.visibility,
            allow_comments=video.allow_comments,
            allow_duet=video.allow_duet,
            allow_stitch=video.allow_stitch,
            created_at=video.created_at,
            sound_offset_ms=video.sound_offset_ms,
        )


def playable_key(video: Video) -> str | None:
    """The file people are shown: without its track while the track's licence has lapsed."""
    if video.sound_muted and video.muted_video_key:
        return video.muted_video_key
    return video.video_key


class VideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None
