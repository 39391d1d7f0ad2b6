"""The Following feed and For You.

Following: videos of the accounts you follow, newest first (keyset on the video id). For You: a
pipeline — the viewer's context (``context.py``), candidate sources (``candidates.py``), filters,
scores and the mix (``ranking.py``) — with a plain recency ranking as its fallback; the feed
session in the cursor keeps a page from repeating what the session already served.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.engagement.models import FeedImpression
from playback.feeds import candidates, ranking
from playback.feeds.context import Context, load_context
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.social.models import Follow

PAGE_SIZE = 10
CANDIDATE_POOL = 500
log = structlog.get_logger("playback.feeds")


def list_following(
    db: Session, viewer: User, *, before: uuid.UUID | None, limit: int
) -> list[tuple[Video, User]]:
    query = (
        sa.select(Video, User)
        .join(
            Follow, sa.and_(Follow.followee_id == Video.creator_id, Follow.follower_id == viewer.id)
        )
        .join(User, User.id == Video.creator_id)
        .where(
            Follow.status == "accepted",
            Video.status == "ready",
            Video.visibility.in_(("public", "followers")),
        )
    )
    if before is not None:
        query = query.where(Video.id < before)
    return [(r[0], r[1]) for r in db.execute(query.order_by(Video.id.desc()).limit(limit))]


@dataclass(frozen=True)
class Ranked:
    video: Video
    creator: User
    score: float
    reasons: list[str]


def new_session_id() -> str:
    return secrets.token_hex(12)


def rank_for_you(
    db: Session, viewer: User | None, viewer_key: str, session_id: str, *, limit: int = PAGE_SIZE
) -> list[Ranked]:
    """A page of For You: candidates → filters → scores → mix (see ``ranking.py``). Should the
    pipeline fail, the page is the newest videos the viewer has not seen, so the feed goes on."""
    ctx = load_context(db, viewer, viewer_key, session_id)
    try:
        with db.begin_nested():
            items = ranking.load_items(db, ctx, candidates.gather(db, ctx))
            ranking.score(ctx, items)
            page = ranking.mix(items, limit)
            rows = _rows(db, [item.id for item in page])
    except Exception:
        log.exception("for_you_pipeline_failed", viewer_key=viewer_key)
        return rank_by_recency(db, ctx, limit)
    ranked = []
    for item in page:
        if item.id in rows:  # (gone since it was scored: left out)
            video, creator = rows[item.id]
            ranked.append(
                Ranked(video, creator, item.score, ranking.reasons(ctx, item, creator.handle))
            )
    return ranked


def _rows(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Video, User]]:
    """The page's videos with their creators, whole (for the cards)."""
    if not ids:
        return {}
    return {video.id: (video, creator) for video, creator in db.execute(_PAGE, {"ids": ids})}


_PAGE = (
    sa.select(Video, User)
    .join(User, User.id == Video.creator_id)
    .where(Video.id.in_(sa.bindparam("ids", expanding=True)))
)


def rank_by_recency(db: Session, ctx: Context, limit: int) -> list[Ranked]:
    """The plain fallback: the newest public videos the viewer has not seen, filtered alike."""
    fresh = {
        vid: [candidates.Candidate(vid, "recent", 1.0)]
        for vid in db.scalars(
            sa.select(Video.id)
            .where(Video.status == "ready", Video.visibility == "public")
            .order_by(Video.id.desc())
            .limit(CANDIDATE_POOL)
        )
    }
    items = ranking.load_items(db, ctx, fresh)
    items.sort(key=lambda i: i.id, reverse=True)
    rows = _rows(db, [item.id for item in items[:limit]])
    return [
        Ranked(*rows[item.id], 0.0, ["New on Playback"])
        for item in items[:limit]
        if item.id in rows
    ]


def do_record_impressions(
    db: Session, session_id: str, viewer_key: str, video_ids: list[uuid.UUID]
) -> None:
    if not video_ids:
        return
    now = utcnow()
    rows = [
        {"session_id": session_id, "video_id": vid, "viewer_key": viewer_key, "served_at": now}
        for vid in video_ids
    ]
    db.execute(sa.insert(FeedImpression), rows)
