"""Lifecycle tables: data exports (an account's status lives on ``users``)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Entity

EXPORT_STATUSES = ("building", "ready", "failed", "cancelled")


class DataExport(Entity):
    """A ZIP of everything an account holds, built by a job and kept for a few days; only its
    owner may download it."""

    __tablename__ = "data_exports"
    __table_args__ = (
        Index("ix_data_exports_user_id_created_at", "user_id", "created_at"),
        Index("ix_data_exports_expires_at", "expires_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="building")
    storage_key: Mapped[str | None] = mapped_column(String(300))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    ready_at: Mapped[dt.datetime | None] = mapped_column()
    expires_at: Mapped[dt.datetime | None] = mapped_column()
