"""Videos: creating them from uploads, who may see them, deleting them, and processing them.

Creating a video probes the upload (bounded), stores the original, and enqueues processing after
the commit. Processing runs as a job in three short steps — claim the video with a lease, do the
work outside any transaction (renewing the lease), record the result — so a worker that dies
leaves a video that the next sweep hands to another worker.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.config import Settings
from playback.db import Database, after_commit, after_rollback
from playback.errors import Forbidden, Invalid, NotFound
from playback.jobs import enqueue
from playback.kit.ids import new_id
from playback.kit.text import parse_hashtags, parse_mentions
from playback.kit.time import utcnow
from playback.media.audio import Soundtrack
from playback.media.errors import MediaError
from playback.media.models import (
    REMIX_KINDS,
    VISIBILITIES,
    Hashtag,
    Video,
    VideoHashtag,
    VideoMention,
)
from playback.media.probe import Limits, Probe, probe
from playback.media.transcode import Output, poster, process
from playback.social.service import is_approved_follower, is_blocked_either_way
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


def access_video(db: Session, video_id: uuid.UUID, viewer: User | None) -> tuple[Video, User]:
    """The video and its creator if ``viewer`` may see it; otherwise ``video_not_found``."""
    row = db.execute(
        sa.select(Video, User).join(User, User.id == Video.creator_id).where(Video.id == video_id)
    ).first()
    if row is None or not can_view(db, row[0], row[1], viewer):
        raise NotFound("video")
    return row[0], row[1]


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
        original, _owner = access_video(db, recipe.remix_of_id, creator)
        if original.status != "ready":
            raise NotFound("video")
        allowed = original.allow_duet if recipe.remix_kind == "duet" else original.allow_stitch
        if not allowed:
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
    likes = db.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.video_id == video.id))
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


# --- processing (the job) -----------------------------------------------------------------


class Cancelled(Exception):
    """The video went away (deleted) or another worker took it over while we worked."""


@dataclass
class _Lease:
    database: Database
    video_id: uuid.UUID
    seconds: int
    deadline: float
    renewed_at: float = 0.0

    def renew(self, _share: float = 0.0) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise TimeoutError("processing took longer than its time limit")
        if now - self.renewed_at < self.seconds / 3:
            return
        with self.database.unit_of_work() as db:
            result = db.execute(
                sa.update(Video)
                .where(Video.id == self.video_id, Video.status == "processing")
                .values(lease_until=utcnow() + dt.timedelta(seconds=self.seconds))
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise Cancelled()
        self.renewed_at = now


def _claim(database: Database, video_id: uuid.UUID, lease_seconds: int) -> Video | None:
    with database.unit_of_work() as db:
        now = utcnow()
        result = db.execute(
            sa.update(Video)
            .where(
                Video.id == video_id,
                Video.status == "processing",
                sa.or_(Video.lease_until.is_(None), Video.lease_until < now),
            )
            .values(
                lease_until=now + dt.timedelta(seconds=lease_seconds), attempts=Video.attempts + 1
            )
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return None
        return db.get(Video, video_id)


def work_dir_for(settings: Settings, video_id: uuid.UUID) -> Path:
    # The pid in the name lets a restarted worker tell its dead predecessors' leftovers apart.
    path = settings.work_dir / f"job-{video_id}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(parents=True)
    return path


def do_process_video(
    database: Database, storage: Storage, settings: Settings, video_id: uuid.UUID
) -> str:
    """Make the web-ready file and poster for a video. Idempotent: a video that is not (or no
    longer) processing, or that another worker holds, is left alone. Returns what happened."""
    video = _claim(database, video_id, settings.transcode_lease_seconds)
    if video is None:
        return "skipped"
    lease = _Lease(
        database,
        video_id,
        settings.transcode_lease_seconds,
        deadline=time.monotonic() + settings.transcode_time_limit_seconds,
    )
    lease.renewed_at = time.monotonic()
    work = work_dir_for(settings, video_id)
    uploaded: list[str] = []
    try:
        source = work / f"original.{video.original_key.rsplit('.', 1)[-1]}"
        storage.fetch_to(video.original_key, source)
        info = probe(source, limits_from(settings))
        output = work / "video.mp4"
        result = _build(database, storage, settings, video, source, info, output, work, lease)
        lease.renew()
        poster_jpeg = poster(output)
        token = secrets.token_hex(6)
        video_key = f"{video_prefix(video)}video-{token}.mp4"
        poster_key = f"{video_prefix(video)}poster-{token}.jpg"
        storage.put_file(video_key, output)
        uploaded.append(video_key)
        storage.put_bytes(poster_key, poster_jpeg)
        uploaded.append(poster_key)
        size = output.stat().st_size
        original_sound = _original_sound(storage, video, output, work, uploaded)
        with database.unit_of_work() as db:
            done = db.execute(
                sa.update(Video)
                .where(Video.id == video_id, Video.status == "processing")
                .values(
                    status="ready",
                    error_code=None,
                    video_key=video_key,
                    poster_key=poster_key,
                    width=result.width,
                    height=result.height,
                    duration_ms=result.duration_ms,
                    size_bytes=size,
                    remuxed=result.remuxed,
                    ready_at=utcnow(),
                    lease_until=None,
                )
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise Cancelled()
            db.execute(
                sa.update(User)
                .where(User.id == video.creator_id)
                .values(video_count=User.video_count + 1)
            )
            _publish_sound(db, video_id, original_sound)
            do_notify_caption_mentions(db, video_id)
        log.info("video_ready", video_id=str(video_id), remuxed=result.remuxed, size=size)
        return "ready"
    except Cancelled:
        for key in uploaded:
            storage.delete(key)
        return "cancelled"
    except MediaError as exc:
        for key in uploaded:
            storage.delete(key)
        _fail(database, storage, video, exc.code)
        log.info("video_failed", video_id=str(video_id), code=exc.code)
        return "failed"
    except Exception:
        for key in uploaded:
            storage.delete(key)
        if video.attempts >= settings.transcode_max_attempts:
            _fail(database, storage, video, "processing_failed")
            log.exception("video_failed", video_id=str(video_id), code="processing_failed")
            return "failed"
        _release(database, video_id)
        raise  # transient: the job is retried with backoff
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch_remix_source(database: Database, storage: Storage, video: Video, dst: Path) -> None:
    """The file of the video a duet or stitch answers (without its track while muted)."""
    with database.unit_of_work(write=False) as db:
        original = db.get(Video, video.remix_of_id) if video.remix_of_id else None
        key = None
        if original is not None and original.status == "ready":
            key = original.muted_video_key if original.sound_muted else original.video_key
    if key is None:
        raise MediaError("The video this answers is no longer available.", code="remix_source_gone")
    storage.fetch_to(key, dst)


def _build(
    database: Database,
    storage: Storage,
    settings: Settings,
    video: Video,
    source: Path,
    info: Probe,
    output: Path,
    work: Path,
    lease: _Lease,
) -> Output:
    """Make the web-ready file: the clip alone, with its sound, or composed with the video it
    answers."""
    threads = settings.transcode_threads
    if video.remix_kind is not None:
        from playback.media import compose

        original = work / "answered.mp4"
        _fetch_remix_source(database, storage, video, original)
        if video.remix_kind == "duet":
            return compose.duet(
                source, info, original, output, threads=threads, progress=lease.renew
            )
        return compose.stitch(
            original,
            video.remix_start_ms / 1000,
            video.remix_ms / 1000,
            source,
            info,
            output,
            threads=threads,
            progress=lease.renew,
        )
    if video.sound_id is None:
        return process(source, output, info, threads=threads, progress=lease.renew)
    from playback.sounds.models import Sound

    with database.unit_of_work(write=False) as db:
        sound = db.get(Sound, video.sound_id)
        audio_key = sound.audio_key if sound is not None else None
    if audio_key is None:
        raise MediaError("The sound is no longer available.", code="sound_gone")
    audio = work / "sound.m4a"
    storage.fetch_to(audio_key, audio)
    soundtrack = Soundtrack(
        audio,
        offset_seconds=video.sound_offset_ms / 1000,
        volume=video.sound_volume / 100,
        clip_volume=video.clip_volume / 100,
    )
    return process(
        source, output, info, threads=threads, progress=lease.renew, soundtrack=soundtrack
    )


@dataclass(frozen=True)
class _OriginalSound:
    id: uuid.UUID
    audio_key: str
    duration_ms: int


def _original_sound(
    storage: Storage, video: Video, output: Path, work: Path, uploaded: list[str]
) -> _OriginalSound | None:
    """A plain upload's own audio becomes its original sound (not a silent one)."""
    if video.sound_id is not None or video.remix_kind is not None:
        return None
    from playback.media import tracks

    audio = work / "original-sound.m4a"
    duration = tracks.extract_sound(output, audio)
    if duration is None:
        return None
    sound_id = new_id()
    key = f"sounds/{sound_id}/audio-{secrets.token_hex(6)}.m4a"
    storage.put_file(key, audio)
    uploaded.append(key)
    return _OriginalSound(sound_id, key, duration)


def _publish_sound(db: Session, video_id: uuid.UUID, original: _OriginalSound | None) -> None:
    """Give a new video its original sound, and keep the use of its sound."""
    from playback.sounds.service import do_create_original_sound, do_record_use

    row = db.execute(
        sa.select(Video, User).join(User, User.id == Video.creator_id).where(Video.id == video_id)
    ).first()
    if row is None:
        return
    video, creator = row[0], row[1]
    if original is not None:
        do_create_original_sound(
            db,
            video,
            creator,
            sound_id=original.id,
            audio_key=original.audio_key,
            duration_ms=original.duration_ms,
        )
    do_record_use(db, video, creator)


def do_notify_caption_mentions(db: Session, video_id: uuid.UUID) -> None:
    """Once a video is published, tell the people its caption mentions who may see it (never
    across a block, never about a video they cannot open)."""
    from playback.engagement.notifications import do_notify

    row = db.execute(
        sa.select(Video, User).join(User, User.id == Video.creator_id).where(Video.id == video_id)
    ).first()
    if row is None:
        return
    video, creator = row[0], row[1]
    mentioned = db.scalars(
        sa.select(User)
        .join(VideoMention, VideoMention.user_id == User.id)
        .where(VideoMention.video_id == video_id)
    )
    for user in mentioned:
        if can_view(db, video, creator, user):
            do_notify(db, user.id, "mention", actor_id=creator.id, video_id=video.id)


def do_mute_video(
    database: Database, storage: Storage, settings: Settings, video_id: uuid.UUID
) -> str:
    """Take the track out of a published video whose licence lapsed: it keeps playing, with the
    clip's own audio (or silence) instead. The file is made once and kept, so muting again
    after a renewal and a second lapse is instant. Idempotent; returns what happened."""
    from playback.sounds.service import is_track_licensed_for

    with database.unit_of_work(write=False) as db:
        row = db.execute(
            sa.select(Video, User)
            .join(User, User.id == Video.creator_id)
            .where(Video.id == video_id)
        ).first()
        if row is None or row[0].status != "ready" or row[0].sound_muted:
            return "skipped"
        video, creator = row[0], row[1]
        if is_track_licensed_for(db, video, creator):
            return "licensed"
        muted_key = video.muted_video_key
        video_key, original_key = video.video_key, video.original_key
        own_volume = 1.0 if video.remix_kind else video.clip_volume / 100
    if muted_key is None and video_key is not None:
        from playback.media import tracks

        work = work_dir_for(settings, video_id)
        try:
            source = work / "video.mp4"
            storage.fetch_to(video_key, source)
            own = None
            if own_volume > 0:
                own = work / f"original.{original_key.rsplit('.', 1)[-1]}"
                storage.fetch_to(original_key, own)
            muted = work / "muted.mp4"
            # A stitch's own clip starts after the stitched part.
            late = video.remix_ms / 1000 if video.remix_kind == "stitch" else 0.0
            tracks.replace_audio(source, muted, own, volume=own_volume, offset_seconds=-late)
            muted_key = f"{video_prefix(video)}muted-{secrets.token_hex(6)}.mp4"
            storage.put_file(muted_key, muted)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    with database.unit_of_work() as db:
        done = db.execute(
            sa.update(Video)
            .where(Video.id == video_id, Video.status == "ready")
            .values(sound_muted=True, muted_video_key=muted_key)
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            if muted_key:
                after_commit(db, lambda: storage.delete(muted_key))
            return "skipped"
    log.info("video_muted", video_id=str(video_id))
    return "muted"


def _fail(database: Database, storage: Storage, video: Video, code: str) -> None:
    with database.unit_of_work() as db:
        db.execute(
            sa.update(Video)
            .where(Video.id == video.id, Video.status == "processing")
            .values(status="failed", error_code=code, lease_until=None)
        )
    # Nothing of a failed video is kept but its row (which tells the creator why).
    storage.delete_prefix(video_prefix(video))


def _release(database: Database, video_id: uuid.UUID) -> None:
    with database.unit_of_work() as db:
        db.execute(sa.update(Video).where(Video.id == video_id).values(lease_until=None))


def list_stalled(db: Session, older_than: dt.timedelta) -> list[uuid.UUID]:
    """Processing videos nobody is working on: their lease ran out (the worker died), or they
    never got one and were queued a while ago (the queue lost the job)."""
    now = utcnow()
    query = sa.select(Video.id).where(
        Video.status == "processing",
        sa.or_(
            Video.lease_until < now,
            sa.and_(Video.lease_until.is_(None), Video.created_at < now - older_than),
        ),
    )
    return list(db.scalars(query.limit(1000)))


def clean_work_dir(settings: Settings) -> int:
    """Remove scratch folders left by workers of this host that are no longer alive."""
    removed = 0
    if not settings.work_dir.is_dir():
        return 0
    for path in settings.work_dir.iterdir():
        parts = path.name.split("-")
        if path.name.startswith("job-") and len(parts) >= 3 and parts[-2].isdigit():
            pid = int(parts[-2])
            if _alive(pid):
                continue
        elif path.name.startswith("upload-"):
            if time.time() - path.stat().st_mtime < 86400:
                continue
        else:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
