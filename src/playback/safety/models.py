"""Moderation tables: reports, the audit log of moderators' actions, and appeals."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Entity

REPORT_REASONS = (
    "spam",
    "harassment",
    "hate",
    "violence",
    "nudity",
    "minor_safety",
    "self_harm",
    "dangerous_acts",
    "misinformation",
    "intellectual_property",
    "other",
)
TARGET_KINDS = ("video", "comment", "account")


class Report(Entity):
    """Someone's report of a video, comment or account. Reports on one target are decided
    together; the reporter is kept only as long as their account (SET NULL)."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_created_at", "status", "created_at"),
        Index("ix_reports_target_kind_target_id_status", "target_kind", "target_id", "status"),
        Index("ix_reports_reporter_id", "reporter_id"),
    )

    reporter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[uuid.UUID] = mapped_column()
    reason: Mapped[str] = mapped_column(String(24))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, actioned, dismissed
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class ModerationAction(Entity):
    """The audit log: every decision a moderator takes, never edited."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        Index("ix_moderation_actions_target_id", "target_id"),
        Index("ix_moderation_actions_moderator_id", "moderator_id"),
    )

    moderator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[uuid.UUID] = mapped_column()
    reports: Mapped[int] = mapped_column(default=0)  # how many open reports it decided
    note: Mapped[str] = mapped_column(Text, default="")


class Appeal(Entity):
    """A creator's one appeal against the removal of a video."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_status_created_at", "status", "created_at"),
        Index("ix_appeals_creator_id", "creator_id"),
    )

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), unique=True
    )
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, granted, denied
    decided_at: Mapped[dt.datetime | None] = mapped_column()
