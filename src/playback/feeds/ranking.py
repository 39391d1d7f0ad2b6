"""The For You pipeline's middle: load the candidates, filter what must never be shown, score
the rest, and mix a page.

Filters (every one of them, on every page): not ready; not public or from a private account;
the viewer's own; blocked either way; already watched or served in this session; "not
interested"; a sound muted because its licence lapsed; and the teen rule — videos of 13–15-year-
olds go only to people who follow them (``accounts.age_policy.recommendable_to``).

Scoring: the sources that proposed the video (the trained model's pick weighing most, see
recsys/platform.py), its engagement per view, its freshness, and the viewer's taste — what they
finished, replayed and liked lately lifts videos of the same creators, sounds and hashtags; what
they skipped or said "not interested" to pushes such videos down.

Mixing: at most 2 videos of one creator and 2 with one sound in any 10, no more than 3 on one
hashtag, and a bounded exploration share (new uploads finding their first audience).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.engagement import counters
from playback.feeds.candidates import Candidate
from playback.feeds.context import Context
from playback.media.models import Video, VideoHashtag

WINDOW = 10
MAX_PER_CREATOR = 2
MAX_PER_SOUND = 2
MAX_PER_HASHTAG = 3
EXPLORATION_EVERY = 5  # one exploration slot in every 5 positions (a 20 % share at most)

SOURCE_WEIGHT = {
    "learned": 1.2,
    "co_watched": 1.0,
    "similar": 0.8,
    "followed": 0.7,
    "trending_local": 0.6,
    "trending": 0.5,
    "popular": 0.3,
    "fresh": 0.3,
}
REASONS = {
    "learned": "Picked for you from what you watched",
    "co_watched": "Popular with people who watched what you watched",
    "similar": "Like videos you enjoyed",
    "followed": "From an account you follow",
    "trending_local": "Trending in your country",
    "trending": "Trending now",
    "popular": "Popular this month",
    "fresh": "New: finding its first audience",
}


@dataclass
class Item:
    video: Video
    creator: User
    tags: list[uuid.UUID]
    sources: list[Candidate]
    score: float = 0.0
    liked: float = 0.0  # the viewer's taste for it, kept for its reasons

    @property
    def exploring(self) -> bool:
        return all(c.source == "fresh" for c in self.sources)


def load_items(
    db: Session, ctx: Context, candidates: dict[uuid.UUID, list[Candidate]]
) -> list[Item]:
    """The candidates that pass the filters, with their videos, creators and hashtags."""
    ids = [vid for vid in candidates if vid not in ctx.seen and vid not in ctx.not_interested]
    if not ids:
        return []
    query = (
        sa.select(Video, User)
        .join(User, User.id == Video.creator_id)
        .where(
            Video.id.in_(ids),
            Video.status == "ready",
            Video.visibility == "public",
            Video.sound_muted.is_(False),
            User.private.is_(False),
        )
    )
    if ctx.viewer is not None:
        query = query.where(Video.creator_id != ctx.viewer.id)
    rows = [
        (video, creator)
        for video, creator in db.execute(query)
        if creator.id not in ctx.blocked
        and age_policy.recommendable_to(creator.birthdate, follows=creator.id in ctx.following)
    ]
    tags: dict[uuid.UUID, list[uuid.UUID]] = {video.id: [] for video, _ in rows}
    if rows:
        for vid, tag in db.execute(
            sa.select(VideoHashtag.video_id, VideoHashtag.hashtag_id).where(
                VideoHashtag.video_id.in_(list(tags))
            )
        ):
            tags[vid].append(tag)
    return [Item(video, creator, tags[video.id], candidates[video.id]) for video, creator in rows]


def score(db: Session, ctx: Context, items: list[Item]) -> None:
    counts = counters.video_counts(db, [item.video for item in items])
    for item in items:
        c = counts[item.video.id]
        engagement = (c.likes + 2 * c.comments + 3 * c.shares + 2 * c.saves + 1) / (c.views + 10)
        ready = item.video.ready_at or item.video.created_at
        age_hours = max(0.0, (ctx.now - ready).total_seconds() / 3600)
        freshness = 1 / (1 + age_hours / 72) ** 0.5
        proposed = sum(SOURCE_WEIGHT.get(c.source, 0.3) * c.strength for c in item.sources)
        liked = ctx.likes.affinity(item.video, item.tags)
        disliked = ctx.dislikes.affinity(item.video, item.tags)
        taste = math.log1p(liked) - 1.5 * math.log1p(disliked)
        item.score = proposed + 2.0 * engagement + 0.5 * freshness + taste
        item.liked = liked


def reasons(ctx: Context, item: Item) -> list[str]:
    """Why this video, in words (only for the videos a page shows)."""
    liked = item.liked
    reasons: list[str] = []
    if item.video.creator_id in ctx.likes.creators:
        reasons.append(f"You enjoyed videos by @{item.creator.handle}")
    elif item.video.sound_id is not None and item.video.sound_id in ctx.likes.sounds:
        reasons.append("Uses a sound you listened to")
    elif liked > 0:
        reasons.append("Like videos you enjoyed")
    for candidate in sorted(item.sources, key=lambda c: -SOURCE_WEIGHT.get(c.source, 0)):
        reason = REASONS.get(candidate.source)
        if reason and reason not in reasons:
            reasons.append(reason)
    return reasons[:3]


def mix(items: list[Item], limit: int) -> list[Item]:
    """A page from the scored items: the best that keep the page varied, with an exploration
    slot every ``EXPLORATION_EVERY`` positions while new uploads wait for an audience."""
    ranked = sorted(items, key=lambda i: (-i.score, str(i.video.id)))
    exploring = [i for i in ranked if i.exploring]
    page: list[Item] = []
    taken: set[uuid.UUID] = set()

    def fits(item: Item) -> bool:
        window = page[-(WINDOW - 1) :]
        creators = Counter(i.video.creator_id for i in window)
        sounds = Counter(i.video.sound_id for i in window if i.video.sound_id is not None)
        tags = Counter(tag for i in window for tag in i.tags[:1])
        if creators[item.video.creator_id] >= MAX_PER_CREATOR:
            return False
        if item.video.sound_id is not None and sounds[item.video.sound_id] >= MAX_PER_SOUND:
            return False
        return not (item.tags and tags[item.tags[0]] >= MAX_PER_HASHTAG)

    def pick(pool: list[Item]) -> Item | None:
        return next((i for i in pool if i.video.id not in taken and fits(i)), None)

    while len(page) < limit:
        explore_slot = len(page) % EXPLORATION_EVERY == EXPLORATION_EVERY - 1
        item = (pick(exploring) if explore_slot else None) or pick(ranked)
        if item is None:
            break  # what is left would crowd the page: better a shorter page
        taken.add(item.video.id)
        page.append(item)
    return page
