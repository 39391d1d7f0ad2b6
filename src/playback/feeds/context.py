"""What the For You pipeline knows about the viewer when it builds a page: who they are, what
they have watched and done (the whole history for filtering, the recent part as session
signals), whom they follow and block, and what they said they are not interested in.

Everything is read fresh for every page, so an action changes the very next page (only the
facts that never change about a video are kept, see ``facts.py``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.engagement.models import (
    UNKNOWN_TERRITORY,
    FeedImpression,
    Like,
    NotInterested,
    WatchEvent,
)
from playback.feeds.facts import Facts, facts
from playback.kit.time import utcnow
from playback.social.models import Follow
from playback.social.service import blocked_ids

HISTORY = 200  # most recent watch events read for the viewer's taste
SEEDS = 30  # videos the viewer engaged with most recently, for candidates and affinity
COMPLETED = 0.8  # share of a video watched that counts as finishing it


@dataclass
class Taste:
    """What a set of videos have in common: their creators, sounds and hashtags, weighted."""

    creators: dict[uuid.UUID, float] = field(default_factory=lambda: defaultdict(float))
    sounds: dict[uuid.UUID, float] = field(default_factory=lambda: defaultdict(float))
    hashtags: dict[uuid.UUID, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, video: Facts, weight: float) -> None:
        self.creators[video.creator_id] += weight
        if video.sound_id is not None:
            self.sounds[video.sound_id] += weight
        for tag in video.tags:
            self.hashtags[tag] += weight

    @staticmethod
    def top(weights: dict[uuid.UUID, float], n: int) -> list[uuid.UUID]:
        return sorted(weights, key=lambda key: -weights[key])[:n]

    def affinity(self, video: Facts) -> float:
        score = self.creators.get(video.creator_id, 0.0)
        if video.sound_id is not None:
            score += 0.7 * self.sounds.get(video.sound_id, 0.0)
        score += 0.5 * sum(self.hashtags.get(tag, 0.0) for tag in video.tags)
        return score


@dataclass
class Context:
    viewer: User | None
    viewer_key: str
    session_id: str
    now: dt.datetime
    territory: str
    served: set[uuid.UUID]  # in this feed session
    not_interested: set[uuid.UUID]
    blocked: set[uuid.UUID]  # accounts, either way
    following: set[uuid.UUID]
    seeds: list[uuid.UUID]  # liked or finished, most recent first
    likes: Taste  # what the viewer liked, finished or replayed (recent ones weigh more)
    dislikes: Taste  # what they skipped fast or said "not interested" to
    signals: dict[uuid.UUID, float]  # liked minus disliked, per video of the recent history

    @property
    def is_new(self) -> bool:
        return not self.seeds


# Prepared once: every page runs them.
_HISTORY = (
    sa.select(WatchEvent.video_id, WatchEvent.watched_ms)
    .where(WatchEvent.viewer_key == sa.bindparam("key"))
    .order_by(WatchEvent.id.desc())
    .limit(HISTORY)
)
_SERVED = sa.select(FeedImpression.video_id).where(
    FeedImpression.session_id == sa.bindparam("session")
)
_NOT_INTERESTED = (
    sa.select(NotInterested.video_id)
    .where(NotInterested.viewer_key == sa.bindparam("key"))
    .order_by(NotInterested.created_at.desc())
)
_FOLLOWING = sa.select(Follow.followee_id).where(
    Follow.follower_id == sa.bindparam("user"), Follow.status == "accepted"
)
_LIKED = (
    sa.select(Like.video_id)
    .where(Like.user_id == sa.bindparam("user"))
    .order_by(Like.created_at.desc())
    .limit(SEEDS)
)


def load_context(db: Session, viewer: User | None, viewer_key: str, session_id: str) -> Context:
    # The latest watch stretches, newest first: the session signals. (Everything ever watched
    # is filtered out by the database, see ``ranking.load_items``.)
    history = [
        (vid, ms) for vid, ms in db.execute(_HISTORY, {"key": viewer_key}) if vid is not None
    ]
    served = set(db.scalars(_SERVED, {"session": session_id}))
    not_interested = list(db.scalars(_NOT_INTERESTED, {"key": viewer_key}))
    blocked, following, liked = _relations(db, viewer)
    known = facts.get(db, {vid for vid, _ in history} | set(liked) | set(not_interested[:SEEDS]))
    positive, negative = _signals(history, known, liked, not_interested)
    likes, dislikes = Taste(), Taste()
    for vid, weight in positive.items():
        if vid in known:
            likes.add(known[vid], weight)
    for vid, weight in negative.items():
        if vid in known:
            dislikes.add(known[vid], weight)
    return Context(
        viewer=viewer,
        viewer_key=viewer_key,
        session_id=session_id,
        now=utcnow(),
        territory=viewer.country if viewer is not None and viewer.country else UNKNOWN_TERRITORY,
        served=served,
        not_interested=set(not_interested),
        blocked=blocked,
        following=following,
        seeds=sorted(positive, key=lambda vid: -positive[vid])[:SEEDS],
        likes=likes,
        dislikes=dislikes,
        signals={
            vid: positive.get(vid, 0.0) - negative.get(vid, 0.0)
            for vid in set(positive) | set(negative)
        },
    )


def _relations(
    db: Session, viewer: User | None
) -> tuple[set[uuid.UUID], set[uuid.UUID], list[uuid.UUID]]:
    """Accounts blocked either way, accounts followed, and the latest likes."""
    if viewer is None:
        return set(), set(), []
    blocked = blocked_ids(db, viewer.id)
    following = set(db.scalars(_FOLLOWING, {"user": viewer.id}))
    liked = list(db.scalars(_LIKED, {"user": viewer.id}))
    return blocked, following, liked


def _signals(
    history: list[tuple[uuid.UUID, int]],
    known: dict[uuid.UUID, Facts],
    liked: list[uuid.UUID],
    not_interested: list[uuid.UUID],
) -> tuple[dict[uuid.UUID, float], dict[uuid.UUID, float]]:
    """How much the viewer liked or disliked each video of their recent history (``history``:
    (video, milliseconds watched), newest first)."""
    positive: dict[uuid.UUID, float] = defaultdict(float)
    negative: dict[uuid.UUID, float] = defaultdict(float)
    for rank, (video_id, watched_ms) in enumerate(history):
        if video_id not in known:
            continue
        recency = 1.0 / (1 + rank / 20)  # the last few swipes weigh most: session signals
        ratio = watched_ms / max(1, known[video_id].duration_ms)
        if ratio >= COMPLETED:
            # Finishing counts; replays (ratio above 1) count more, up to three times.
            positive[video_id] += recency * min(ratio, 3.0)
        elif ratio < 0.2 and watched_ms < 3000:
            negative[video_id] += 0.5 * recency
    for rank, video_id in enumerate(liked):
        positive[video_id] += 2.0 / (1 + rank / 10)
    for rank, video_id in enumerate(not_interested[:SEEDS]):
        negative[video_id] += 3.0 / (1 + rank / 10)
    return positive, negative
