"""Videos: creating them from uploads (with a sound, or answering another video), who may see
them, and deleting them.

Creating a video probes the upload (bounded), checks what it is to be made with, stores the
original, and enqueues processing after the commit (``processing.py`` does the work).
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import ACTIVE, User
from playback.config import Settings
from playback.db import after_commit, after_rollback
from playback.errors import Forbidden, Invalid, NotFound
from playback.jobs import enqueue
from playback.kit.ids import new_id
from playback.kit.text import parse_hashtags, parse_mentions
from playback.media.models import (
    REMIX_KINDS,
    VISIBILITIES,
    Hashtag,
    Video,
    VideoHashtag,
    VideoMention,
)
from playback.media.probe import Limits, probe
from playback.social.service import (
    age_policy_allows,
    is_approved_follower,
    is_blocked_either_way,
)
from playback.storage import Storage

log = structlog.get_logger("playback.media")
MAX_STITCH_MS = 5_000
CAPTION_MAX = 2200
CONTAINER_EXTENSIONS = {"mp4": "mp4", "matroska": "mkv"}


# --- checks -------------------------------------------------------------------------------


def check_caption(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
    if len(text) > CAPTION_MAX:
        raise Invalid(f"A caption has at most {CAPTION_MAX} characters.", code="caption_too_long")
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text):
        raise Invalid("A caption cannot contain control characters.", code="invalid_caption")
    return text


def check_visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise Invalid("Visibility is public, followers or private.", code="invalid_visibility")
    return value


def limits_from(settings: Settings) -> Limits:
    return Limits(min_seconds=settings.video_min_seconds, max_seconds=settings.video_max_seconds)


def video_prefix(video: Video) -> str:
    return f"videos/{video.creator_id}/{video.id}/"


# --- access -------------------------------------------------------------------------------


def get_video(db: Session, video_id: uuid.UUID) -> Video | None:
    return db.get(Video, video_id)


def can_view(db: Session, video: Video, creator: User, viewer: User | None) -> bool:
    """Owners see everything of theirs. Others see ready videos only: public ones (of a private
    account, only its approved followers), followers-only ones if they follow, private never."""
    if viewer is not None and viewer.id == video.creator_id:
        return True
    if video.status != "ready" or video.visibility == "private":
        return False
    if viewer is not None and is_blocked_either_way(db, viewer.id, creator.id):
        return False
    needs_follow = video.visibility == "followers" or creator.private
    if not needs_follow:
        return True
    return viewer is not None and is_approved_follower(db, viewer.id, creator.id)


def get_video_and_creator(db: Session, video_id: uuid.UUID) -> tuple[Video, User] | None:
    row = db.execute(
        sa.select(Video, User).join(User, User.id == Video.creator_id).where(Video.id == video_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def access_video(db: Session, video_id: uuid.UUID, viewer: User | None) -> tuple[Video, User]:
    """The video and its creator if ``viewer`` may see it; otherwise ``video_not_found``."""
    found = get_video_and_creator(db, video_id)
    if found is None or not can_view(db, found[0], found[1], viewer):
        raise NotFound("video")
    return found


def access_download(db: Session, video_id: uuid.UUID, viewer: User | None) -> tuple[Video, str]:
    """The video and the key of the file to download, if ``viewer`` may see it (else 404) and
    the age policy lets them keep a copy (else 403 ``download_not_allowed``: never a
    13–15-year-old's video)."""
    video, creator = access_video(db, video_id, viewer)
    key = video.muted_video_key if video.sound_muted else video.video_key
    if video.status != "ready" or key is None:
        raise NotFound("video")
    is_owner = viewer is not None and viewer.id == creator.id
    if not (
        age_policy.may_download(creator, is_owner=is_owner, is_friend=False)
        or age_policy_allows(db, age_policy.may_download, creator, viewer)
    ):
        raise Forbidden("This video cannot be downloaded.", code="download_not_allowed")
    return video, key


def list_tags(
    db: Session, video_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """Hashtags and mentions of each video, in caption order."""
    result: dict[uuid.UUID, tuple[list[str], list[str]]] = {vid: ([], []) for vid in video_ids}
    if not video_ids:
        return result
    tags = db.execute(
        sa.select(VideoHashtag.video_id, Hashtag.name)
        .join(Hashtag, Hashtag.id == VideoHashtag.hashtag_id)
        .where(VideoHashtag.video_id.in_(video_ids))
        .order_by(VideoHashtag.position)
    )
    for vid, name in tags:
        result[vid][0].append(name)
    mentions = db.execute(
        sa.select(VideoMention.video_id, VideoMention.handle)
        .where(VideoMention.video_id.in_(video_ids))
        .order_by(VideoMention.position)
    )
    for vid, handle in mentions:
        result[vid][1].append(handle)
    return result


def list_user_videos(
    db: Session, creator: User, viewer: User | None, *, before: uuid.UUID | None, limit: int
) -> list[Video]:
    """A creator's videos newest first, as ``viewer`` may see them (keyset on the id)."""
    query = sa.select(Video).where(Video.creator_id == creator.id)
    is_owner = viewer is not None and viewer.id == creator.id
    if not is_owner and viewer is not None and is_blocked_either_way(db, viewer.id, creator.id):
        return []
    if not is_owner:
        query = query.where(Video.status == "ready", Video.visibility != "private")
        follows = viewer is not None and is_approved_follower(db, viewer.id, creator.id)
        if creator.private and not follows:
            return []
        if not follows:
            query = query.where(Video.visibility == "public")
    if before is not None:
        query = query.where(Video.id < before)
    return list(db.scalars(query.order_by(Video.id.desc()).limit(limit)))


# --- creating -----------------------------------------------------------------------------


def _hashtag_ids(db: Session, names: list[str]) -> dict[str, uuid.UUID]:
    if not names:
        return {}
    rows = db.execute(sa.select(Hashtag.name, Hashtag.id).where(Hashtag.name.in_(names)))
    existing: dict[str, uuid.UUID] = dict(rows.all())
    for name in names:
        if name in existing:
            continue
        try:
            with db.begin_nested():  # another upload may create the same tag at the same time
                tag = Hashtag(id=new_id(), name=name)
                db.add(tag)
            existing[name] = tag.id
        except sa.exc.IntegrityError:
            existing[name] = db.execute(
                sa.select(Hashtag.id).where(Hashtag.name == name)
            ).scalar_one()
    return existing


def do_set_caption(db: Session, video: Video, caption: str) -> None:
    video.caption = check_caption(caption)
    db.execute(sa.delete(VideoHashtag).where(VideoHashtag.video_id == video.id))
    db.execute(sa.delete(VideoMention).where(VideoMention.video_id == video.id))
    tags = [t for t in parse_hashtags(video.caption) if len(t) <= 100]
    ids = _hashtag_ids(db, tags)
    for position, name in enumerate(tags):
        db.add(VideoHashtag(video_id=video.id, hashtag_id=ids[name], position=position))
    handles = parse_mentions(video.caption)
    users: dict[str, uuid.UUID] = {}
    if handles:
        rows = db.execute(sa.select(User.handle, User.id).where(User.handle.in_(handles)))
        users = dict(rows.all())
    for position, handle in enumerate(handles):
        db.add(
            VideoMention(
                video_id=video.id, handle=handle, user_id=users.get(handle), position=position
            )
        )
    db.flush()


@dataclass(frozen=True)
class Recipe:
    """What a new video is made of besides the clip: a sound laid under it (a playback), or
    the video it answers (a duet or a stitch). Volumes are percentages."""

    sound_id: uuid.UUID | None = None
    sound_offset_ms: int = 0
    sound_volume: int = 100
    clip_volume: int | None = None  # default: 0 with a sound (it replaces the clip's audio)
    remix_kind: str | None = None  # "duet" or "stitch"
    remix_of_id: uuid.UUID | None = None
    remix_start_ms: int = 0
    remix_ms: int = MAX_STITCH_MS


def check_volume(value: int, name: str) -> int:
    if not 0 <= value <= 100:
        raise Invalid(f"{name} is a percentage from 0 to 100.", code="invalid_volume")
    return value


def _apply_recipe(db: Session, video: Video, creator: User, recipe: Recipe, clip_ms: int) -> None:
    """Check the recipe against the sound's licence or the answered video's settings, and set
    it on the new video; raises before anything is stored."""
    from playback.sounds.service import check_sound_use

    video.sound_volume = check_volume(recipe.sound_volume, "sound_volume")
    if recipe.remix_kind is not None:
        if recipe.sound_id is not None:
            raise Invalid("A duet or stitch keeps the sound it answers.", code="sound_not_allowed")
        if recipe.remix_kind not in REMIX_KINDS or recipe.remix_of_id is None:
            raise Invalid("A remix is a duet or a stitch of a video.", code="invalid_remix")
        original, owner = access_video(db, recipe.remix_of_id, creator)
        if original.status != "ready":
            raise NotFound("video")
        allowed = original.allow_duet if recipe.remix_kind == "duet" else original.allow_stitch
        if not allowed or not age_policy_allows(db, age_policy.may_remix, owner, creator):
            raise Forbidden(
                f"This video does not allow a {recipe.remix_kind}.",
                code=f"{recipe.remix_kind}_not_allowed",
            )
        video.remix_kind, video.remix_of_id = recipe.remix_kind, original.id
        if recipe.remix_kind == "stitch":
            start, length = recipe.remix_start_ms, recipe.remix_ms
            if not (0 < length <= MAX_STITCH_MS and start >= 0):
                raise Invalid("A stitch uses up to 5 seconds of a video.", code="invalid_stitch")
            if start + length > (original.duration_ms or 0):
                raise Invalid("The stitched part runs past the video's end.", code="invalid_stitch")
            video.remix_start_ms, video.remix_ms = start, length
            video.clip_volume = 100
        else:
            video.remix_start_ms, video.remix_ms = 0, 0
            video.clip_volume = check_volume(
                100 if recipe.clip_volume is None else recipe.clip_volume, "clip_volume"
            )
        # Duets and stitches play the original's sound too: the creator needs its licence (or
        # its reuse) as well, and the new video credits it and is muted with it.
        if original.sound_id is not None and not original.sound_muted:
            offset = original.sound_offset_ms + video.remix_start_ms
            sound = check_sound_use(
                db, original.sound_id, creator, offset_ms=offset, clip_ms=clip_ms
            )
            video.sound_id, video.sound_offset_ms = sound.id, offset
        return
    if recipe.sound_id is None:
        video.clip_volume = 100
        return
    sound = check_sound_use(
        db, recipe.sound_id, creator, offset_ms=recipe.sound_offset_ms, clip_ms=clip_ms
    )
    video.sound_id, video.sound_offset_ms = sound.id, recipe.sound_offset_ms
    video.clip_volume = check_volume(recipe.clip_volume or 0, "clip_volume")


def do_create_video(
    db: Session,
    storage: Storage,
    settings: Settings,
    creator: User,
    upload: Path,
    *,
    caption: str = "",
    visibility: str = "public",
    allow_comments: bool = True,
    allow_duet: bool = True,
    allow_stitch: bool = True,
    recipe: Recipe | None = None,
) -> Video:
    """Probe the upload, check what it is to be made with, keep the original, and queue
    processing once this commits."""
    caption = check_caption(caption)
    visibility = check_visibility(visibility)
    info = probe(upload, limits_from(settings))  # raises MediaError before anything is stored
    video = Video(
        id=new_id(),
        creator_id=creator.id,
        status="processing",
        visibility=visibility,
        allow_comments=allow_comments,
        allow_duet=allow_duet,
        allow_stitch=allow_stitch,
        source_container=info.container,
        original_key="",
        duration_ms=info.duration_ms,
    )
    _apply_recipe(db, video, creator, recipe or Recipe(), info.duration_ms)
    video.original_key = f"{video_prefix(video)}original.{CONTAINER_EXTENSIONS[info.container]}"
    db.add(video)
    db.flush()
    do_set_caption(db, video, caption)
    storage.put_file(video.original_key, upload)
    after_rollback(db, lambda: storage.delete_prefix(video_prefix(video)))
    from playback.media.tasks import process_video

    enqueue(db, process_video, str(video.id))
    return video


def do_delete_video(db: Session, storage: Storage, video: Video, user: User) -> None:
    """Remove the video's rows now and its files once that has committed."""
    from playback.engagement import counters
    from playback.engagement.models import CounterDelta, Like

    if video.creator_id != user.id:
        raise Forbidden("Only the creator can delete a video.", code="not_owner")
    # Lock the row first: likes in flight either finish before this counts them, or fail on
    # the missing video afterwards — the creator's total stays exact either way.
    db.execute(sa.select(Video.id).where(Video.id == video.id).with_for_update())
    likes = db.scalar(  # the creator's total counts the likes of active accounts only
        sa.select(sa.func.count())
        .select_from(Like)
        .join(User, User.id == Like.user_id)
        .where(Like.video_id == video.id, User.status == ACTIVE)
    )
    counters.add(db, "user_total_likes", video.creator_id, -int(likes or 0))
    db.execute(sa.delete(CounterDelta).where(CounterDelta.target_id == video.id))
    if video.status == "ready":
        db.execute(
            sa.update(User)
            .where(User.id == video.creator_id)
            .values(video_count=User.video_count - 1)
        )
    prefix = video_prefix(video)
    db.execute(sa.delete(Video).where(Video.id == video.id))
    after_commit(db, lambda: storage.delete_prefix(prefix))
