"""Data exports: everything an account holds, as a ZIP of documented JSON files and its videos.

The job writes the ZIP to a scratch file a page of rows (or a chunk of a video) at a time, so
neither the rows nor the files are ever whole in memory, then hands the file to storage under
``exports/<user>/``. Only the owner downloads it, through the API, for ``EXPORT_DAYS`` days.
One export a day per account. An account deactivated or erased while its export is being built
gets no export: the job notices when it finishes and throws the file away.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, aliased

from playback.accounts.models import ACTIVE, AuthSession, User
from playback.config import Settings
from playback.db import Database
from playback.engagement.models import Comment, Like, Save, WatchEvent
from playback.errors import NotFound, TooManyRequests
from playback.jobs import enqueue
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.lifecycle.models import DataExport
from playback.media.models import Video
from playback.social.models import Block, Follow
from playback.sounds.models import Sound
from playback.storage import Storage

log = structlog.get_logger("playback.lifecycle")

EXPORT_DAYS = 4
EXPORT_EVERY = dt.timedelta(days=1)
PAGE = 1000
FORMAT_VERSION = 1

README = """Your Playback data (format version {version}), exported {at}.

Every file is UTF-8 JSON; times are ISO 8601 in UTC; ids are UUIDs.

profile.json        your account: handle, display_name, bio, email, birthdate, country,
                    private, role, created_at, and the counts others see
                    (follower_count, following_count, video_count, total_likes);
                    "avatar" names avatar.jpg when you have one; "settings": time_zone,
                    comment_audience (null: what your age allows), comment_filter (your
                    filtered words), hide_like_counts, screen_time_minutes (your daily
                    limit, null without one), and "break" (since, until, message; null when
                    you are not taking one)
videos.json         your videos: id, created_at, ready_at, status, caption, visibility,
                    allow_comments, allow_duet, allow_stitch, duration_ms, width, height,
                    sound (title, artist; null without one), remix_kind, remix_of_id,
                    like_count, view_count, comment_count, share_count, save_count,
                    "file" (the video under videos/, null while it has none)
comments.json       comments you wrote: id, video_id, parent_id (a reply's comment), text,
                    created_at
likes.json          videos you liked: video_id, created_at
saves.json          videos you saved: video_id, created_at
following.json      accounts you follow: handle (null if it is gone), status
                    ("accepted" or "pending"), created_at
followers.json      accounts following you, the same way
blocked.json        accounts you blocked: handle, created_at
watch_history.json  what you watched: video_id (null if it is gone), watched_ms, source,
                    created_at
login_history.json  your logins: created_at, last_used_at, expires_at, kind ("api" or
                    "web"), ip, user_agent
"""


# --- requesting and downloading ------------------------------------------------------------


def do_request_export(db: Session, user: User) -> DataExport:
    """Start building an export, at most one a day (429 ``export_limit`` with Retry-After)."""
    now = utcnow()
    last = db.scalar(
        sa.select(sa.func.max(DataExport.created_at)).where(
            DataExport.user_id == user.id, DataExport.status.in_(("building", "ready"))
        )
    )
    if last is not None and now - last < EXPORT_EVERY:
        wait = (last + EXPORT_EVERY - now).total_seconds()
        raise _limit(wait)
    export = DataExport(id=new_id(), user_id=user.id, status="building")
    db.add(export)
    db.flush()
    from playback.lifecycle.tasks import build_export

    enqueue(db, build_export, str(export.id))
    return export


def _limit(wait: float) -> TooManyRequests:
    error = TooManyRequests(int(wait) + 1, "One data export a day: try again later.")
    error.code = "export_limit"
    return error


def list_exports(db: Session, user: User) -> list[DataExport]:
    """The account's recent exports, newest first (expired ones are swept away hourly)."""
    return list(
        db.scalars(
            sa.select(DataExport)
            .where(DataExport.user_id == user.id)
            .order_by(DataExport.created_at.desc())
            .limit(10)
        )
    )


def access_export(db: Session, user: User, export_id: uuid.UUID) -> DataExport:
    """The owner's ready, unexpired export; 404 for anyone else and anything else."""
    export = db.get(DataExport, export_id)
    if (
        export is None
        or export.user_id != user.id
        or export.status != "ready"
        or export.storage_key is None
        or (export.expires_at is not None and export.expires_at <= utcnow())
    ):
        raise NotFound("export")
    return export


def file_name(export: DataExport) -> str:
    return f"playback-data-{export.created_at:%Y-%m-%d}.zip"


# --- building -------------------------------------------------------------------------------


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json_array(out: IO[bytes], items: Iterator[dict[str, Any]]) -> int:
    """Write ``items`` as a JSON array, one item at a time; returns how many."""
    out.write(b"[")
    n = 0
    for item in items:
        out.write(b",\n  " if n else b"\n  ")
        out.write(json.dumps(item, ensure_ascii=False).encode())
        n += 1
    out.write(b"\n]\n" if n else b"]\n")
    return n


def _pages(db: Session, query: Any, key: Any) -> Iterator[Any]:
    """Rows of ``query`` a page at a time, in ``key`` order (keyset: no offset, no big list)."""
    last = None
    query = query.add_columns(key.label("page_key"))
    while True:
        page = query if last is None else query.where(key > last)
        rows = db.execute(page.order_by(key).limit(PAGE)).all()
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1].page_key


def _profile(user: User, has_avatar: bool) -> dict[str, Any]:
    return {
        "handle": user.handle,
        "display_name": user.display_name,
        "bio": user.bio,
        "email": user.email,
        "birthdate": _iso(user.birthdate),
        "country": user.country,
        "private": user.private,
        "role": user.role,
        "created_at": _iso(user.created_at),
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "video_count": user.video_count,
        "total_likes": user.total_likes,
        "avatar": "avatar.jpg" if has_avatar else None,
        "settings": {
            "time_zone": user.time_zone,
            "comment_audience": user.comment_audience,
            "comment_filter": user.comment_filter,
            "hide_like_counts": user.hide_like_counts,
            "screen_time_minutes": user.screen_time_minutes,
            "break": None
            if user.break_since is None
            else {
                "since": _iso(user.break_since),
                "until": _iso(user.break_until),
                "message": user.break_message,
            },
        },
    }


def _video_item(video: Video, sound: Sound | None, file: str | None) -> dict[str, Any]:
    return {
        "id": str(video.id),
        "created_at": _iso(video.created_at),
        "ready_at": _iso(video.ready_at),
        "status": video.status,
        "caption": video.caption,
        "visibility": video.visibility,
        "allow_comments": video.allow_comments,
        "allow_duet": video.allow_duet,
        "allow_stitch": video.allow_stitch,
        "duration_ms": video.duration_ms,
        "width": video.width,
        "height": video.height,
        "sound": ({"title": sound.title, "artist": sound.artist} if sound is not None else None),
        "remix_kind": video.remix_kind,
        "remix_of_id": str(video.remix_of_id) if video.remix_of_id else None,
        "like_count": video.like_count,
        "view_count": video.view_count,
        "comment_count": video.comment_count,
        "share_count": video.share_count,
        "save_count": video.save_count,
        "file": file,
    }


def _copy(storage: Storage, key: str, out: IO[bytes]) -> None:
    with storage.open(key) as source:
        shutil.copyfileobj(source, out, 1024 * 1024)


def _write_videos(db: Session, storage: Storage, zf: zipfile.ZipFile, user_id: uuid.UUID) -> int:
    query = (
        sa.select(Video, Sound)
        .outerjoin(Sound, Sound.id == Video.sound_id)
        .where(Video.creator_id == user_id)
    )
    items = []  # one small dict per video (files stream one by one below)
    for video, sound, _ in _pages(db, query, Video.id):
        key = video.muted_video_key if video.sound_muted else video.video_key
        key = key or video.original_key
        name = None
        if key and storage.exists(key):
            name = f"videos/{video.id}{Path(key).suffix or '.mp4'}"
            with zf.open(name, "w", force_zip64=True) as out:
                _copy(storage, key, out)
        items.append(_video_item(video, sound, name))
    with zf.open("videos.json", "w", force_zip64=True) as out:
        return _json_array(out, iter(items))


def _sections(db: Session, user_id: uuid.UUID) -> list[tuple[str, Callable[[], Iterator[Any]]]]:
    other = aliased(User)
    key = f"user:{user_id}"

    def comments() -> Iterator[dict[str, Any]]:
        query = sa.select(Comment).where(Comment.author_id == user_id)
        for c, _ in _pages(db, query, Comment.id):
            yield {
                "id": str(c.id),
                "video_id": str(c.video_id),
                "parent_id": str(c.parent_id) if c.parent_id else None,
                "text": c.text,
                "created_at": _iso(c.created_at),
            }

    def likes() -> Iterator[dict[str, Any]]:
        query = sa.select(Like.video_id, Like.created_at).where(Like.user_id == user_id)
        for row in _pages(db, query, Like.video_id):
            yield {"video_id": str(row.video_id), "created_at": _iso(row.created_at)}

    def saves() -> Iterator[dict[str, Any]]:
        query = sa.select(Save.video_id, Save.created_at).where(Save.user_id == user_id)
        for row in _pages(db, query, Save.video_id):
            yield {"video_id": str(row.video_id), "created_at": _iso(row.created_at)}

    def follows(mine: Any, theirs: Any) -> Callable[[], Iterator[dict[str, Any]]]:
        def rows() -> Iterator[dict[str, Any]]:
            query = (
                sa.select(theirs, other.handle, Follow.status, Follow.created_at)
                .outerjoin(other, other.id == theirs)
                .where(mine == user_id)
            )
            for row in _pages(db, query, theirs):
                yield {
                    "handle": row.handle,
                    "status": row.status,
                    "created_at": _iso(row.created_at),
                }

        return rows

    def blocked() -> Iterator[dict[str, Any]]:
        query = (
            sa.select(Block.blocked_id, other.handle, Block.created_at)
            .join(other, other.id == Block.blocked_id)
            .where(Block.blocker_id == user_id)
        )
        for row in _pages(db, query, Block.blocked_id):
            yield {"handle": row.handle, "created_at": _iso(row.created_at)}

    def watched() -> Iterator[dict[str, Any]]:
        query = sa.select(
            WatchEvent.id,
            WatchEvent.video_id,
            WatchEvent.watched_ms,
            WatchEvent.source,
            WatchEvent.created_at,
        ).where(WatchEvent.viewer_key == key)
        for row in _pages(db, query, WatchEvent.id):
            yield {
                "video_id": str(row.video_id) if row.video_id else None,
                "watched_ms": row.watched_ms,
                "source": row.source,
                "created_at": _iso(row.created_at),
            }

    def logins() -> Iterator[dict[str, Any]]:
        query = sa.select(AuthSession).where(AuthSession.user_id == user_id)
        for s, _ in _pages(db, query, AuthSession.id):
            yield {
                "created_at": _iso(s.created_at),
                "last_used_at": _iso(s.last_used_at),
                "expires_at": _iso(s.expires_at),
                "kind": s.kind,
                "ip": s.ip,
                "user_agent": s.user_agent,
            }

    return [
        ("comments.json", comments),
        ("likes.json", likes),
        ("saves.json", saves),
        ("following.json", follows(Follow.follower_id, Follow.followee_id)),
        ("followers.json", follows(Follow.followee_id, Follow.follower_id)),
        ("blocked.json", blocked),
        ("watch_history.json", watched),
        ("login_history.json", logins),
    ]


def write_zip(db: Session, storage: Storage, user: User, target: Path) -> dict[str, int]:
    """Write the account's export to ``target``; returns how many items each file holds."""
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", README.format(version=FORMAT_VERSION, at=_iso(utcnow())))
        has_avatar = bool(user.avatar_key and storage.exists(user.avatar_key))
        if has_avatar and user.avatar_key:
            with zf.open("avatar.jpg", "w") as out:
                _copy(storage, user.avatar_key, out)
        zf.writestr("profile.json", json.dumps(_profile(user, has_avatar), indent=2))
        counts["videos.json"] = _write_videos(db, storage, zf, user.id)
        for name, items in _sections(db, user.id):
            with zf.open(name, "w", force_zip64=True) as out:
                counts[name] = _json_array(out, items())
    return counts


def do_build_export(
    database: Database, storage: Storage, settings: Settings, export_id: uuid.UUID
) -> str:
    """Build one export (the job). Returns its final status; safe to run again."""
    with database.unit_of_work(write=False) as db:
        export = db.get(DataExport, export_id)
        if export is None or export.status != "building":
            return export.status if export is not None else "gone"
        user = db.get(User, export.user_id)
        if user is None or user.status != ACTIVE:
            status = "cancelled"
        else:
            status = "building"
            work = Path(tempfile.mkdtemp(prefix="export-", dir=_work_dir(settings)))
            try:
                archive = work / "export.zip"
                counts = write_zip(db, storage, user, archive)
                key = f"exports/{user.id}/{export.id}-{secrets.token_hex(8)}.zip"
                storage.put_file(key, archive)
                size = archive.stat().st_size
            finally:
                shutil.rmtree(work, ignore_errors=True)
    if status == "cancelled":
        return _finish(database, export_id, status="cancelled")
    now = utcnow()
    finished = _finish(
        database,
        export_id,
        status="ready",
        storage_key=key,
        size_bytes=size,
        ready_at=now,
        expires_at=now + dt.timedelta(days=EXPORT_DAYS),
    )
    if finished != "ready":  # the account left while it was built: keep nothing
        storage.delete(key)
    else:
        log.info("export_ready", export_id=str(export_id), size=size, items=sum(counts.values()))
    return finished


def _work_dir(settings: Settings) -> Path:
    path = settings.data_dir / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _finish(database: Database, export_id: uuid.UUID, **values: Any) -> str:
    """Record the outcome, but only for a building export of an account still active."""
    with database.unit_of_work() as db:
        done = db.execute(
            sa.update(DataExport)
            .where(
                DataExport.id == export_id,
                DataExport.status == "building",
                sa.exists().where(User.id == DataExport.user_id, User.status == ACTIVE),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return str(values["status"])
        db.execute(
            sa.update(DataExport)
            .where(DataExport.id == export_id, DataExport.status == "building")
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
        return "cancelled"


def do_sweep_expired(database: Database, storage: Storage) -> int:
    """Remove exports past their time (files first, then rows)."""
    removed = 0
    while True:
        with database.unit_of_work() as db:
            rows = db.execute(
                sa.select(DataExport.id, DataExport.storage_key)
                .where(DataExport.expires_at <= utcnow())
                .limit(PAGE)
            ).all()
            for _, key in rows:
                if key:
                    storage.delete(key)
            db.execute(sa.delete(DataExport).where(DataExport.id.in_([r.id for r in rows])))
        removed += len(rows)
        if len(rows) < PAGE:
            return removed
