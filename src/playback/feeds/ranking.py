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

import datetime as dt
import math
import uuid
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.engagement.models import WatchEvent
from playback.feeds.candidates import Candidate
from playback.feeds.context import Context
from playback.feeds.facts import Facts, facts
from playback.kit.time import as_utc
from playback.media.models import Video

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
    """A candidate that passed the filters: its facts and what ranking needs besides, not the
    whole rows (those are read for the page's videos only, see ``service.rank_for_you``)."""

    facts: Facts
    sources: list[Candidate]
    engagement: float  # likes, comments, shares and saves per view (cached counts)
    ready_at: dt.datetime
    score: float = 0.0
    liked: float = 0.0  # the viewer's taste for it, kept for its reasons

    @property
    def id(self) -> uuid.UUID:
        return self.facts.id

    @property
    def exploring(self) -> bool:
        return all(c.source == "fresh" for c in self.sources)


NOBODY = uuid.UUID(int=0)
# Prepared once (it runs for every page): the candidates that pass the filters the database
# can apply — ready, public, sound not muted, not restricted by a moderator, creator not private,
# not the viewer's own, never watched by the viewer — with their cached counts and the creator's
# birthdate.
_CANDIDATES = (
    sa.select(
        Video.id,
        Video.view_count,
        Video.like_count,
        Video.comment_count,
        Video.share_count,
        Video.save_count,
        sa.func.coalesce(Video.ready_at, Video.created_at),
        User.id,
        User.birthdate,
    )
    .join(User, User.id == Video.creator_id)
    .where(
        Video.id.in_(sa.bindparam("ids", expanding=True)),
        Video.status == "ready",
        Video.visibility == "public",
        Video.sound_muted.is_(False),
        Video.restricted.is_(False),
        User.private.is_(False),
        Video.creator_id != sa.bindparam("viewer_id"),
        ~sa.exists().where(
            WatchEvent.viewer_key == sa.bindparam("viewer_key"),
            WatchEvent.video_id == Video.id,
        ),
    )
)


def load_items(
    db: Session, ctx: Context, candidates: dict[uuid.UUID, list[Candidate]]
) -> list[Item]:
    """The candidates that pass the filters, with what scoring and mixing need of them."""
    ids = [vid for vid in candidates if vid not in ctx.served and vid not in ctx.not_interested]
    if not ids:
        return []
    params = {
        "ids": ids,
        "viewer_key": ctx.viewer_key,
        "viewer_id": ctx.viewer.id if ctx.viewer is not None else NOBODY,
    }
    rows = [
        row
        for row in db.execute(_CANDIDATES, params)
        if row[7] not in ctx.blocked
        and age_policy.recommendable_to(row[8], follows=row[7] in ctx.following)
    ]
    known = facts.get(db, [row[0] for row in rows])
    items = []
    for vid, views, likes, comments, shares, saves, ready, _, _ in rows:
        # Cached counts: a few seconds behind at most, which ranking does not mind.
        engagement = (likes + 2 * comments + 3 * shares + 2 * saves + 1) / (views + 10)
        if vid in known:
            items.append(Item(known[vid], candidates[vid], engagement, as_utc(ready)))
    return items


def score(ctx: Context, items: list[Item]) -> None:
    for item in items:
        age_hours = max(0.0, (ctx.now - item.ready_at).total_seconds() / 3600)
        freshness = 1 / (1 + age_hours / 72) ** 0.5
        proposed = sum(SOURCE_WEIGHT.get(c.source, 0.3) * c.strength for c in item.sources)
        liked = ctx.likes.affinity(item.facts)
        disliked = ctx.dislikes.affinity(item.facts)
        taste = math.log1p(liked) - 1.5 * math.log1p(disliked)
        item.score = proposed + 2.0 * item.engagement + 0.5 * freshness + taste
        item.liked = liked


def reasons(ctx: Context, item: Item, handle: str) -> list[str]:
    """Why this video, in words (only for the videos a page shows; ``handle`` its creator's)."""
    liked = item.liked
    reasons: list[str] = []
    if item.facts.creator_id in ctx.likes.creators:
        reasons.append(f"You enjoyed videos by @{handle}")
    elif item.facts.sound_id is not None and item.facts.sound_id in ctx.likes.sounds:
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
    ranked = sorted(items, key=lambda i: (-i.score, str(i.id)))
    exploring = [i for i in ranked if i.exploring]
    page: list[Item] = []
    taken: set[uuid.UUID] = set()
    while len(page) < limit:
        window = _Window(page[-(WINDOW - 1) :], taken)
        explore_slot = len(page) % EXPLORATION_EVERY == EXPLORATION_EVERY - 1
        item = window.first_fitting(exploring) if explore_slot else None
        item = item or window.first_fitting(ranked)
        if item is None:
            break  # what is left would crowd the page: better a shorter page
        taken.add(item.id)
        page.append(item)
    return page


class _Window:
    """What the last videos of a page hold (counted once per position)."""

    def __init__(self, items: list[Item], taken: set[uuid.UUID]) -> None:
        self.taken = taken
        self.creators = Counter(i.facts.creator_id for i in items)
        self.sounds = Counter(i.facts.sound_id for i in items if i.facts.sound_id is not None)
        self.tags = Counter(i.facts.tags[0] for i in items if i.facts.tags)

    def fits(self, item: Item) -> bool:
        f = item.facts
        return (
            item.id not in self.taken
            and self.creators[f.creator_id] < MAX_PER_CREATOR
            and (f.sound_id is None or self.sounds[f.sound_id] < MAX_PER_SOUND)
            and not (f.tags and self.tags[f.tags[0]] >= MAX_PER_HASHTAG)
        )

    def first_fitting(self, pool: list[Item]) -> Item | None:
        return next(filter(self.fits, pool), None)
