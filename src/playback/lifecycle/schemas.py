"""Request and response bodies for leaving Playback."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from playback.lifecycle.models import DataExport


class DeactivateIn(BaseModel):
    password: str = Field(max_length=1024)


class DeactivatedOut(BaseModel):
    status: str
    erase_after: dt.datetime


class ExportOut(BaseModel):
    """A data export: ``building`` until its ZIP is ready to download (until ``expires_at``)."""

    id: uuid.UUID
    status: str  # building, ready, failed, cancelled
    created_at: dt.datetime
    ready_at: dt.datetime | None
    expires_at: dt.datetime | None
    size_bytes: int | None
    download_url: str | None

    @classmethod
    def of(cls, export: DataExport) -> ExportOut:
        ready = export.status == "ready"
        return cls(
            id=export.id,
            status=export.status,
            created_at=export.created_at,
            ready_at=export.ready_at,
            expires_at=export.expires_at,
            size_bytes=export.size_bytes,
            download_url=f"/api/v1/me/exports/{export.id}/download" if ready else None,
        )


class ImportedPostOut(BaseModel):
    index: int  # the post's position in the export
    video_id: uuid.UUID  # processing: poll GET /videos/{id}
    file: str
    posted_at: dt.datetime | None


class SkippedPostOut(BaseModel):
    index: int
    reason: str
    detail: str


class ImportReportOut(BaseModel):
    """What came across from a TikTok export, and what could not."""

    bio: str | None
    imported: list[ImportedPostOut]
    skipped: list[SkippedPostOut]
    following_not_imported: int
    likes_not_imported: int
    problems: list[str]
