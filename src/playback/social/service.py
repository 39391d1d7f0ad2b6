"""Follow relationships as other domains need them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.social.models import Follow


def is_approved_follower(db: Session, follower_id: uuid.UUID, followee_id: uuid.UUID) -> bool:
    return (
        db.scalar(
            sa.select(sa.literal(True)).where(
                Follow.follower_id == follower_id,
                Follow.followee_id == followee_id,
                Follow.status == "accepted",
            )
        )
        is not None
    )
