"""The Following feed and the interim For You ranking.

Following: videos of the accounts you follow, newest first (keyset on the video id). For You
(interim, until the recommendation engine replaces the ranking behind the same endpoint): recent
public videos ranked by engagement per view, with a fixed share of every page reserved for new
and small creators, never a video the viewer has watched or was already served this session.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.engagement import counters
from playback.engagement.models import FeedImpression, WatchEvent
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.social.models import Follow
from playback.social.service import blocked_select

PAGE_SIZE = 10
CANDIDATE_POOL = 500
RECENT_DAYS = 30
SMALL_CREATOR_FOLLOWERS = 1000
NEW_CREATOR_DAYS = 30
SMALL_CREATOR_SLOTS = 3  # of every PAGE_SIZE


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


def _score(
    likes: int, comments: int, shares: int, saves: int, views: int, age_hours: float
) -> float:
    engagement = (likes + 2 * comments + 3 * shares + 2 * saves + 1) / (views + 10)
    return engagement / (1 + age_hours / 48) ** 0.8


def new_session_id() -> str:
    return secrets.token_hex(12)


def rank_for_you(
    db: Session, viewer: User | None, viewer_key: str, session_id: str, *, limit: int = PAGE_SIZE
) -> list[Ranked]:
    now = utcnow()
    watched = sa.select(WatchEvent.video_id).where(WatchEvent.viewer_key == viewer_key)
    served = sa.select(FeedImpression.video_id).where(FeedImpression.session_id == session_id)
    query = (
        sa.select(Video, User)
        .join(User, User.id == Video.creator_id)
        .where(
            Video.status == "ready",
            Video.visibility == "public",
            User.private.is_(False),
            Video.ready_at > now - dt.timedelta(days=RECENT_DAYS),
            Video.id.not_in(watched),
            Video.id.not_in(served),
        )
    )
    if viewer is not None:
        query = query.where(User.id != viewer.id, User.id.not_in(blocked_select(viewer.id)))
    rows = [
        (r[0], r[1])
        for r in db.execute(query.order_by(Video.ready_at.desc()).limit(CANDIDATE_POOL))
    ]
    if not rows:
        return []
    counts = counters.video_counts(db, [v for v, _ in rows])
    followers = counters.user_counts(db, list({c.id: c for _, c in rows}.values()))
    ranked, small = [], []
    for video, creator in rows:
        c = counts[video.id]
        age_hours = max(0.0, (now - (video.ready_at or video.created_at)).total_seconds() / 3600)
        score = _score(c.likes, c.comments, c.shares, c.saves, c.views, age_hours)
        reasons = []
        if c.views and (c.likes + c.comments) / c.views > 0.1:
            reasons.append("Popular with people who watched it")
        if age_hours < 24:
            reasons.append("New today")
        is_small = (
            followers[creator.id].followers < SMALL_CREATOR_FOLLOWERS
            or (now - creator.created_at).days < NEW_CREATOR_DAYS
        )
        ranked.append(Ranked(video, creator, score, reasons))
        if is_small:
            small.append(Ranked(video, creator, score, [*reasons, "From a creator on the rise"]))
    ranked.sort(key=lambda r: (-r.score, str(r.video.id)))
    small.sort(key=lambda r: (-r.score, str(r.video.id)))
    page: list[Ranked] = []
    taken: set[uuid.UUID] = set()

    def take(pool: list[Ranked]) -> Ranked | None:
        return next((r for r in pool if r.video.id not in taken), None)

    small_slots = math.floor(limit * SMALL_CREATOR_SLOTS / PAGE_SIZE)
    while len(page) < limit:
        # Every third position goes to a new or small creator while their share lasts.
        reserved = take(small) if small_slots > 0 and len(page) % 3 == 2 else None
        item = reserved or take(ranked) or take(small)
        if item is None:
            break
        if reserved is not None:
            small_slots -= 1
        taken.add(item.video.id)
        page.append(
            item if item.reasons else Ranked(item.video, item.creator, item.score, ["Trending now"])
        )
    return page


def do_record_impressions(
    db: Session, session_id: str, viewer_key: str, video_ids: list[uuid.UUID]
) -> None:
    now = utcnow()
    for vid in video_ids:
        db.add(
            FeedImpression(
                session_id=session_id, video_id=vid, viewer_key=viewer_key, served_at=now
            )
        )
