"""Arriving from TikTok: a TikTok data export (its JSON, alone or in a ZIP with the videos)
becomes the bio and the videos of a Playback account, with a report of what came across.

Reading and refusing hostile files is ``tiktok.py``'s job; this module turns what it read into
accounts and videos through the same services as any upload (each video probed, stored and
queued for processing), one savepoint per post so that one bad file never spoils the rest.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.accounts.service import BIO_MAX, check_bio
from playback.config import Settings
from playback.errors import DomainError, Invalid
from playback.lifecycle import tiktok
from playback.media.service import CAPTION_MAX, do_create_video
from playback.storage import Storage


@dataclass(frozen=True)
class ImportedPost:
    index: int
    video_id: str
    file: str
    posted_at: str | None


@dataclass(frozen=True)
class SkippedPost:
    index: int
    reason: str  # a stable code: no_video_file, or the upload's refusal code
    detail: str


@dataclass
class ImportReport:
    bio: str | None = None  # the bio now on the profile, if the export had one
    imported: list[ImportedPost] = field(default_factory=list)
    skipped: list[SkippedPost] = field(default_factory=list)
    following_not_imported: int = 0
    likes_not_imported: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Upload:
    """One uploaded part, already on disk: its name as sent, and where it is."""

    name: str
    path: Path


def _is_export(upload: Upload) -> bool:
    if upload.name.lower().endswith((".json", ".zip")):
        return True
    with upload.path.open("rb") as f:
        head = f.read(4)
    return head.startswith(b"PK") or head.lstrip()[:1] in (b"{", b"[")


def read_uploads(
    uploads: list[Upload], scratch: Path
) -> tuple[tiktok.TikTokExport, dict[str, Path]]:
    """The export among ``uploads`` and the video files with it (from the ZIP, extracted into
    ``scratch``, or sent beside it)."""
    exports = [u for u in uploads if _is_export(u)]
    if len(exports) != 1:
        raise Invalid(
            "Send one user_data_tiktok.json or user_data.json (or the ZIP holding it), "
            "optionally with the video files.",
            code="not_a_tiktok_export",
        )
    source = exports[0]
    beside = {
        u.name: u.path
        for u in uploads
        if u is not source and Path(u.name).suffix.lower() in tiktok.VIDEO_SUFFIXES
    }
    with source.path.open("rb") as f:
        is_zip = f.read(2) == b"PK"
    if is_zip:
        export, files = tiktok.read_export_zip(source.path, work_dir=scratch)
    else:
        if source.path.stat().st_size > tiktok.MAX_JSON_BYTES:
            raise Invalid(
                f"The export's JSON is larger than {tiktok.MAX_JSON_BYTES // 2**20} MB.",
                code="import_too_large",
            )
        export, files = tiktok.read_export_json(source.path.read_bytes()), {}
    if beside:
        files = {**files, **beside}
        export = tiktok.attach_files(export, files)
    return export, files


def do_import(
    db: Session,
    storage: Storage,
    settings: Settings,
    user: User,
    export: tiktok.TikTokExport,
    files: dict[str, Path],
) -> ImportReport:
    """Bring the bio and every post with its video file over to ``user``."""
    report = ImportReport(problems=list(export.problems))
    bio = (export.profile.bio or "").strip()
    if bio:
        if len(bio) > BIO_MAX:
            report.problems.append(f"The bio was cut to {BIO_MAX} characters.")
            bio = bio[:BIO_MAX].rstrip()
        try:
            user.bio = check_bio(bio)
            report.bio = user.bio
        except DomainError as exc:
            report.problems.append(f"The bio was not imported: {exc.message}")
    for post in export.posts:
        path = files.get(post.file_name) if post.file_name else None
        if path is None:
            detail = "No video file came with this post."
            report.skipped.append(SkippedPost(post.index, "no_video_file", detail))
            continue
        caption = post.caption
        if len(caption) > CAPTION_MAX:
            caption = caption[:CAPTION_MAX]
            report.problems.append(f"post {post.index}: the caption was cut.")
        try:
            with db.begin_nested():
                video = do_create_video(
                    db,
                    storage,
                    settings,
                    user,
                    path,
                    caption=caption,
                    visibility=post.visibility,
                    allow_comments=post.allow_comments,
                    allow_duet=post.allow_duet,
                    allow_stitch=post.allow_stitch,
                )
                if post.posted_at is not None:
                    video.created_at = post.posted_at
        except DomainError as exc:
            report.skipped.append(SkippedPost(post.index, exc.code, exc.message))
            continue
        report.imported.append(
            ImportedPost(
                post.index,
                str(video.id),
                post.file_name or "",
                post.posted_at.isoformat() if post.posted_at else None,
            )
        )
    report.following_not_imported = len(export.following)
    report.likes_not_imported = len(export.liked_links)
    if export.following or export.liked_links:
        report.problems.append(
            "Follows and likes point at TikTok accounts and videos; they are listed here but "
            "not brought over."
        )
    db.flush()
    return report


def scratch_dir(settings: Settings) -> Path:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="import-", dir=settings.work_dir))


def remove(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
