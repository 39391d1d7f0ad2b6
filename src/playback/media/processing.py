"""Processing videos, as jobs: claim a video with a lease, make its web-ready file (the clip
alone, with its sound, or composed with the video it answers) and poster outside any
transaction while renewing the lease, record the result — so a worker that dies leaves a video
the next sweep hands to another worker. Also: muting a video whose track lost its licence, and
the sweep's helpers."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.accounts.models import ACTIVE, User
from playback.config import Settings
from playback.db import Database, after_commit
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.media.audio import Soundtrack
from playback.media.errors import MediaError
from playback.media.models import (
    Video,
    VideoMention,
)
from playback.media.probe import Probe, probe
from playback.media.service import can_view, get_video_and_creator, limits_from, video_prefix
from playback.media.transcode import Output, poster, process
from playback.storage import Storage

log = structlog.get_logger("playback.media")


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
            # A creator who deactivated meanwhile gets it back with the rest when they return.
            db.execute(
                sa.update(Video)
                .where(
                    Video.id == video_id,
                    sa.exists().where(User.id == Video.creator_id, User.status != ACTIVE),
                )
                .values(status="withdrawn")
            )
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

    found = get_video_and_creator(db, video_id)
    if found is None:
        return
    video, creator = found
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

    found = get_video_and_creator(db, video_id)
    if found is None:
        return
    video, creator = found
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
        found = get_video_and_creator(db, video_id)
        if found is None or found[0].status != "ready" or found[0].sound_muted:
            return "skipped"
        video, creator = found
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
