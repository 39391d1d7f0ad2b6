"""Lifecycle routes: leaving Playback (and, below, taking one's data along)."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile, status
from fastapi.responses import StreamingResponse

from playback.accounts.auth import CurrentUser, rate_limited
from playback.accounts.models import DEACTIVATED
from playback.errors import PayloadTooLarge, error_responses
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage
from playback.lifecycle import export, importer, service
from playback.lifecycle.schemas import DeactivatedOut, DeactivateIn, ExportOut, ImportReportOut
from playback.storage import read_chunks

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])


@router.delete(
    "/me",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeactivatedOut,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
def delete_me(
    body: DeactivateIn, user: CurrentUser, db: DB, settings: AppSettings
) -> DeactivatedOut:
    """Delete your account. It is deactivated at once: your profile, videos and comments
    disappear and every count others see leaves you out; every session ends. It is erased for
    good at ``erase_after`` (30 days by default) unless you log in again before then, which
    brings everything back. 403 ``wrong_password`` without the right password."""
    erase_after = service.do_deactivate(db, settings, user, body.password)
    return DeactivatedOut(status=DEACTIVATED, erase_after=erase_after)


@router.post(
    "/me/export",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExportOut,
    responses=error_responses(401, 403, 429),
)
def request_export(user: CurrentUser, db: DB) -> ExportOut:
    """Ask for a copy of all your data: a ZIP of documented JSON files (profile, videos with
    their files, comments, likes, follows, saves, watch and login history) built in the
    background. Download it for 4 days from ``download_url``. One a day: 429
    ``export_limit`` with ``Retry-After``."""
    return ExportOut.of(export.do_request_export(db, user))


@router.get("/me/exports", response_model=list[ExportOut], responses=error_responses(401))
def list_exports(user: CurrentUser, db: DB) -> list[ExportOut]:
    """Your recent exports, newest first."""
    return [ExportOut.of(e) for e in export.list_exports(db, user)]


@router.get(
    "/me/exports/{export_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(400, 401, 404),
    },
)
def download_export(
    export_id: str, user: CurrentUser, db: DB, storage: AppStorage
) -> StreamingResponse:
    """The ZIP of a ready export, for its owner only (404 for anyone else)."""
    found = export.access_export(db, user, require_id(export_id, "export"))
    size = found.size_bytes
    headers = {"Content-Disposition": f'attachment; filename="{export.file_name(found)}"'}
    if size is not None:
        headers["Content-Length"] = str(size)
    chunks = read_chunks(storage, found.storage_key or "")
    return StreamingResponse(chunks, media_type="application/zip", headers=headers)


@router.post(
    "/me/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportReportOut,
    responses=error_responses(400, 401, 403, 413, 422, 429),
    dependencies=[rate_limited("upload")],
)
def import_tiktok(
    files: list[UploadFile], user: CurrentUser, db: DB, storage: AppStorage, settings: AppSettings
) -> ImportReportOut:
    """Bring your TikTok data: ``user_data_tiktok.json`` or the older ``user_data.json``, alone
    or in the ZIP TikTok gives you, optionally with your video files as further ``files``. The
    bio and every post with its video (caption, date, who may comment, duet and stitch) come
    across; the report says what did and what could not. Files that are not what they claim
    are refused with a clear code (``zip_bomb``, ``unsafe_path``, ``json_too_deep``,
    ``import_too_large``, ``not_a_tiktok_export``) and leave nothing behind."""
    scratch = importer.scratch_dir(settings)
    try:
        uploads, total = [], 0
        for n, part in enumerate(files):
            path = scratch / f"part-{n}"
            with path.open("wb") as out:
                while chunk := part.file.read(1024 * 1024):
                    total += len(chunk)
                    if total > settings.import_max_bytes:
                        raise PayloadTooLarge(
                            f"An import is at most {settings.import_max_bytes // 2**20} MB.",
                            code="import_too_large",
                        )
                    out.write(chunk)
            uploads.append(importer.Upload(part.filename or path.name, path))
        found, videos = importer.read_uploads(uploads, scratch)
        report = importer.do_import(db, storage, settings, user, found, videos)
    finally:
        importer.remove(scratch)
    return ImportReportOut.model_validate(report, from_attributes=True)
