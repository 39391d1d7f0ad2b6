"""Lifecycle routes: leaving Playback (and, below, taking one's data along)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, status
from fastapi.responses import StreamingResponse

from playback.accounts.auth import CurrentUser
from playback.accounts.models import DEACTIVATED
from playback.errors import error_responses
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage
from playback.lifecycle import export, service
from playback.lifecycle.schemas import DeactivatedOut, DeactivateIn, ExportOut

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
    key = found.storage_key or ""
    size = found.size_bytes

    def chunks() -> Iterator[bytes]:
        with storage.open(key) as source:
            while chunk := source.read(1024 * 1024):
                yield chunk

    headers = {"Content-Disposition": f'attachment; filename="{export.file_name(found)}"'}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks(), media_type="application/zip", headers=headers)
