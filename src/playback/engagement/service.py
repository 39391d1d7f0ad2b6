"""Likes, saves, shares and watch events, and the cards that show a video with its counts and
what the viewer did to it.

Each action writes the row that is the truth and appends counter deltas in the same
transaction; nothing here UPDATEs a video or a creator (see counters.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.db import insert_or_ignore
from playback.engagement import counters
from playback.engagement.models import (
    UNKNOWN_TERRITORY,
    WATCH_SOURCES,
    Like,
    NotInterested,
    Save,
    Share,
    WatchEvent,
)
from playback.errors import Invalid, NotFound
from playback.jobs import enqueue
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.media import service as media
from playback.media.models import Video
from playback.social.models import Follow

VIEW_WINDOW_SECONDS = 600
MAX_LOOPS_PER_EVENT = 5
SHARE_CHANNELS = ("link", "copy", "native", "whatsapp", "sms", "email", "other")


# --- likes --------------------------------------------------------------------------------


def do_like(db: Session, user: User, video_id: uuid.UUID) -> bool:
    """Like (idempotent). True when this call added the like."""
    video, creator = media.access_video(db, video_id, user)
    if video.status != "ready":
        raise NotFound("video")
    try:
        added = insert_or_ignore(
            db, Like.__table__, video_id=video.id, user_id=user.id, created_at=utcnow()
        )
    except sa.exc.IntegrityError as exc:  # the video was deleted meanwhile
        raise NotFound("video") from exc
    if added:
        counters.add(db, "video_likes", video.id, +1, actor_id=user.id)
        counters.add(db, "user_total_likes", creator.id, +1, actor_id=user.id)
        nudge_flush(db)
    return added


def do_unlike(db: Session, user: User, video_id: uuid.UUID) -> bool:
    """Take a like back (idempotent). True when this call removed it."""
    video, creator = media.access_video(db, video_id, user)
    removed = db.execute(
        sa.delete(Like).where(Like.video_id == video.id, Like.user_id == user.id)
    ).rowcount  # type: ignore[attr-defined]
    if removed:
        counters.add(db, "video_likes", video.id, -1)
        counters.add(db, "user_total_likes", creator.id, -1)
        nudge_flush(db)
    return bool(removed)


def likes_hidden(creator: User, viewer: User | None) -> bool:
    """Whether ``viewer`` is shown no like count on ``creator``'s videos: the creator hides
    them from everyone but themselves (``hide_like_counts``). Only what is shown changes: the
    likes still count, the like button still works, and the profile's total likes stays — it
    is the profile's headline, not a video's count."""
    return creator.hide_like_counts and (viewer is None or viewer.id != creator.id)


def visible_like_count(db: Session, viewer: User | None, video_id: uuid.UUID) -> int | None:
    """A video's exact like count as ``viewer`` is shown it: None when its creator hides it."""
    video = db.get(Video, video_id)
    creator = db.get(User, video.creator_id) if video is not None else None
    if video is None or creator is None:
        raise NotFound("video")
    if likes_hidden(creator, viewer):
        return None
    return counters.video_counts(db, [video])[video.id].likes


_last_nudge = 0.0


def nudge_flush(db: Session) -> None:
    """Ask for a counter flush after this commit, at most every couple of seconds per process
    (the periodic job catches whatever is left)."""
    global _last_nudge  # noqa: PLW0603
    now = time.monotonic()
    if now - _last_nudge < 2.0:
        return
    _last_nudge = now
    from playback.engagement.tasks import flush_counters

    enqueue(db, flush_counters)


# --- saves and shares ---------------------------------------------------------------------


def do_save(db: Session, user: User, video_id: uuid.UUID) -> bool:
    video, _creator = media.access_video(db, video_id, user)
    try:
        added = insert_or_ignore(
            db, Save.__table__, user_id=user.id, video_id=video.id, created_at=utcnow()
        )
    except sa.exc.IntegrityError as exc:
        raise NotFound("video") from exc
    if added:
        counters.add(db, "video_saves", video.id, +1)
    return added


def do_unsave(db: Session, user: User, video_id: uuid.UUID) -> bool:
    video, _creator = media.access_video(db, video_id, user)
    removed = db.execute(
        sa.delete(Save).where(Save.video_id == video.id, Save.user_id == user.id)
    ).rowcount  # type: ignore[attr-defined]
    if removed:
        counters.add(db, "video_saves", video.id, -1)
    return bool(removed)


def list_saves(
    db: Session, user: User, *, before: tuple[str, str] | None, limit: int
) -> list[tuple[Video, User]]:
    query = (
        sa.select(Video, User, Save.created_at)
        .join(Save, Save.video_id == Video.id)
        .join(User, User.id == Video.creator_id)
        .where(Save.user_id == user.id)
    )
    if before is not None:
        import datetime as dt

        at, vid = dt.datetime.fromisoformat(before[0]), uuid.UUID(before[1])
        query = query.where(
            sa.tuple_(Save.created_at, Save.video_id) < sa.tuple_(sa.literal(at), sa.literal(vid))
        )
    rows = db.execute(query.order_by(Save.created_at.desc(), Save.video_id.desc()).limit(limit * 2))
    visible = [(v, c) for v, c, _at in rows if media.can_view(db, v, c, user)]
    return visible[:limit]


def do_share(db: Session, user: User | None, video_id: uuid.UUID, channel: str) -> Video:
    if channel not in SHARE_CHANNELS:
        raise Invalid(f"Channel is one of {', '.join(SHARE_CHANNELS)}.", code="invalid_channel")
    video, _creator = media.access_video(db, video_id, user)
    db.add(
        Share(id=new_id(), video_id=video.id, user_id=user.id if user else None, channel=channel)
    )
    counters.add(db, "video_shares", video.id, +1)
    return video


# --- watch events -------------------------------------------------------------------------


def anonymous_viewer_key(
    secret: str, browser_id: str | None, ip: str | None, user_agent: str | None
) -> str:
    """A stable, non-reversible key for a logged-out viewer: their browser's id cookie when
    there is one, otherwise their address and browser."""
    material = f"{browser_id}" if browser_id else f"{ip}|{user_agent}"
    return "anon:" + hashlib.sha256(f"{secret}:{material}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class ViewResult:
    counted: bool
    watched_ms: int


def check_source(source: str) -> str:
    if source not in WATCH_SOURCES:
        raise Invalid(f"Source is one of {', '.join(WATCH_SOURCES)}.", code="invalid_source")
    return source


def do_record_view(
    db: Session,
    viewer: User | None,
    viewer_key: str,
    video_id: uuid.UUID,
    *,
    watched_ms: int,
    source: str,
) -> ViewResult:
    """Keep the watch event (its time clamped to what the video allows) and count a view at
    most once per viewer per 10 minutes."""
    source = check_source(source)
    if watched_ms < 0:
        raise Invalid("watched_ms cannot be negative.", code="invalid_watch_time")
    video, _creator = media.access_video(db, video_id, viewer)
    if video.status != "ready":
        raise NotFound("video")
    limit = max(1, video.duration_ms or 0) * MAX_LOOPS_PER_EVENT
    watched = min(watched_ms, limit)
    if db.get_bind().dialect.name == "postgresql":
        # Serialise concurrent events of one viewer on one video, so the window holds exactly.
        db.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"{video.id}:{viewer_key}")))
        )
    since = utcnow() - dt.timedelta(seconds=VIEW_WINDOW_SECONDS)
    recent = db.scalar(
        sa.select(sa.literal(True))
        .where(
            WatchEvent.video_id == video.id,
            WatchEvent.viewer_key == viewer_key,
            WatchEvent.counted.is_(True),
            WatchEvent.created_at > since,
        )
        .limit(1)
    )
    counted = recent is None
    sound_id, sound_ms = _sound_played(db, video, watched)
    db.add(
        WatchEvent(
            video_id=video.id,
            viewer_id=viewer.id if viewer else None,
            viewer_key=viewer_key,
            watched_ms=watched,
            source=source,
            counted=counted,
            sound_id=sound_id,
            sound_ms=sound_ms,
            territory=viewer.country if viewer and viewer.country else UNKNOWN_TERRITORY,
        )
    )
    if counted:
        counters.add(db, "video_views", video.id, +1)
    return ViewResult(counted=counted, watched_ms=watched)


def do_not_interested(
    db: Session, viewer: User | None, viewer_key: str, video_id: uuid.UUID
) -> None:
    """ "Not interested": the video leaves the viewer's For You for good, and videos like it
    (same creator, sound, hashtags) sink (see ``feeds.context``). Idempotent."""
    media.access_video(db, video_id, viewer)
    insert_or_ignore(
        db, NotInterested.__table__, viewer_key=viewer_key, video_id=video_id, created_at=utcnow()
    )


def _sound_played(db: Session, video: Video, watched_ms: int) -> tuple[uuid.UUID | None, int]:
    """The sound heard while watching (none while the video is muted), and for how long."""
    from playback.sounds.models import Sound
    from playback.sounds.service import segment_ms, sound_ms_played

    if video.sound_id is None or video.sound_muted:
        return None, 0
    sound = db.get(Sound, video.sound_id)
    if sound is None:
        return None, 0
    played = sound_ms_played(watched_ms, video.duration_ms or 0, segment_ms(sound, video))
    return sound.id, played


# --- cards --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewerState:
    liked: bool = False
    saved: bool = False
    following_creator: str | None = None  # "accepted", "pending" or None


def viewer_states(
    db: Session, viewer: User | None, videos: list[Video]
) -> dict[uuid.UUID, ViewerState]:
    if viewer is None or not videos:
        return {v.id: ViewerState() for v in videos}
    ids = [v.id for v in videos]
    liked = set(
        db.scalars(
            sa.select(Like.video_id).where(Like.user_id == viewer.id, Like.video_id.in_(ids))
        )
    )
    saved = set(
        db.scalars(
            sa.select(Save.video_id).where(Save.user_id == viewer.id, Save.video_id.in_(ids))
        )
    )
    creators = list({v.creator_id for v in videos})
    follows = dict(
        db.execute(
            sa.select(Follow.followee_id, Follow.status).where(
                Follow.follower_id == viewer.id, Follow.followee_id.in_(creators)
            )
        ).all()
    )
    return {
        v.id: ViewerState(
            liked=v.id in liked, saved=v.id in saved, following_creator=follows.get(v.creator_id)
        )
        for v in videos
    }
