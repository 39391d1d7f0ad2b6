"""Notifications: creating them. (Listing, reading and live delivery build on this.)"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from playback.engagement.models import Notification
from playback.kit.ids import new_id


def do_notify(
    db: Session,
    user_id: uuid.UUID,
    kind: str,
    *,
    actor_id: uuid.UUID | None = None,
    video_id: uuid.UUID | None = None,
    comment_id: uuid.UUID | None = None,
    value: int | None = None,
) -> None:
    """Tell ``user_id`` about something; nobody is told about their own actions."""
    if actor_id is not None and actor_id == user_id:
        return
    db.add(
        Notification(
            id=new_id(), user_id=user_id, kind=kind, actor_id=actor_id, video_id=video_id,
            comment_id=comment_id, value=value,
        )
    )
