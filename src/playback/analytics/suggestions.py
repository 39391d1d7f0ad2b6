"""Suggestions for a creator (``suggestions_for``): rising hashtags and sounds (in the creator's
country and everywhere) whose topics are among the creator's, weighted by the share of the
creator's views each topic brought, and content gaps in those topics; every suggestion says why,
with numbers. A creator without videos gets the platform's rising items. Suggestions are about
*what* to make, never about posting more often or keeping a streak.

Rising items and content gaps come from ``trends.py``; a creator's topics from ``topics.py``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.analytics.topics import NAMES, OTHER, topics_of
from playback.analytics.trends import (
    GAP_CANDIDATES,
    GAP_DAYS,
    KINDS,
    MAX_LIMIT,
    RECENT_FULL_DAYS,
    Gap,
    Rising,
    check_country,
    content_gaps,
    rising,
)
from playback.errors import Invalid
from playback.kit.time import as_utc, utcnow
from playback.media.models import Video
from playback.sounds.models import Sound

SUGGEST_MIN_GROWTH = 1.2  # rising means at least 20 % above the baseline
CREATOR_VIDEOS = 30  # the creator's latest videos read for their topics
LAST_VIDEOS = 10  # "3 of your last 10 videos are dance"
GAP_SLOTS = 2  # suggestions taken by content gaps at most, while trends remain


@dataclass(frozen=True)
class Suggestion:
    title: str
    kind: str  # "hashtag", "sound" or "search"
    key: str  # the hashtag's name, the sound's id or the search term
    topic: str
    reason: str  # one sentence, with the numbers behind it
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreatorTopics:
    """What a creator makes: each topic's share of the views of their latest videos, and how
    many of their last ``LAST_VIDEOS`` videos are of it."""

    shares: dict[str, float]
    recent: dict[str, int]
    recent_count: int

    def matched(self, topics: Iterable[str]) -> str | None:
        """The creator's strongest topic among ``topics`` ("other" never matches)."""
        mine = [t for t in topics if t != OTHER and self.shares.get(t, 0) > 0]
        return max(mine, key=lambda t: (self.shares[t], -NAMES.index(t))) if mine else None

    def say(self, topic: str) -> str:
        n, m = self.recent.get(topic, 0), self.recent_count
        last = "last " if m == LAST_VIDEOS else ""
        if n and m == 1:
            return f"your only video is {topic}"
        if n and n == m:
            return f"all of your {last}{m} videos are {topic}"
        if n:
            return f"{n} of your {last}{m} videos are {topic}"
        return f"your {topic} videos brought {round(self.shares[topic] * 100)} % of your views"

    def evidence(self, topic: str) -> dict[str, Any]:
        return {
            "your_videos_in_topic": self.recent.get(topic, 0),
            "your_recent_videos": self.recent_count,
            "your_views_share_in_topic": round(self.shares[topic], 3),
        }


def creator_topics(db: Session, creator: User) -> CreatorTopics:
    rows = db.execute(
        sa.select(Video.caption, Video.view_count, Sound.kind)
        .outerjoin(Sound, Sound.id == Video.sound_id)
        .where(Video.creator_id == creator.id, Video.status == "ready")
        .order_by(Video.id.desc())
        .limit(CREATOR_VIDEOS)
    ).all()
    reach: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    total = 0
    for i, (caption, views, sound_kind) in enumerate(rows):
        weight = int(views or 0) + 1  # a video nobody saw yet still says what they make
        total += weight
        topics = topics_of(caption=caption or "", sound_kind=sound_kind)
        for topic in topics:
            reach[topic] += weight
            if i < LAST_VIDEOS:
                recent[topic] += 1
    shares = {t: reach[t] / total for t in NAMES if reach[t]} if total else {}
    return CreatorTopics(shares, dict(recent), min(len(rows), LAST_VIDEOS))


def suggestions_for(
    db: Session, creator: User, *, now: dt.datetime | None = None, limit: int = 5
) -> list[Suggestion]:
    """What the creator could make next: rising hashtags and sounds in their topics (in their
    country, then everywhere) and content gaps in those topics, each with its evidence; the
    platform's rising items for a creator without videos (or to fill the list)."""
    now = as_utc(now) if now is not None else utcnow()
    limit = max(1, min(limit, 20))
    mine = creator_topics(db, creator)
    home = _home_country(creator)
    places: list[str | None] = [home, None] if home else [None]
    trends: dict[tuple[str, str], tuple[float, Suggestion]] = {}
    general: dict[tuple[str, str], tuple[float, Suggestion]] = {}
    for country in places:
        for kind in KINDS:
            for item in rising(
                db, kind=kind, country=country, topic=None, now=now, limit=MAX_LIMIT
            ):
                if item.growth < SUGGEST_MIN_GROWTH:
                    continue
                key = (kind, item.key)
                topic = mine.matched(item.topics)
                if topic is not None:
                    score = (item.growth - 1) * mine.shares[topic]
                    _keep(trends, key, score, _trend_suggestion(item, country, topic, mine))
                else:
                    _keep(general, key, item.growth, _trend_suggestion(item, country, None, mine))
    gaps: list[tuple[float, Suggestion]] = []
    for gap in content_gaps(db, now=now, limit=GAP_CANDIDATES):
        topic = mine.matched(gap.topics)
        if topic is not None:
            score = gap.searches / (gap.good_videos + 1) * mine.shares[topic]
            gaps.append((score, _gap_suggestion(gap, topic, mine)))
    ranked_trends = [s for _, s in sorted(trends.values(), key=lambda x: -x[0])]
    ranked_gaps = [s for _, s in sorted(gaps, key=lambda x: -x[0])]
    # Gaps take up to GAP_SLOTS places while trends remain, and any place trends leave.
    chosen = ranked_trends[: limit - min(GAP_SLOTS, len(ranked_gaps))]
    chosen += ranked_gaps[: limit - len(chosen)]
    seen = {(s.kind, s.key) for s in chosen}
    for _, s in sorted(general.values(), key=lambda x: -x[0]):
        if len(chosen) >= limit:
            break
        if (s.kind, s.key) not in seen:
            chosen.append(s)
            seen.add((s.kind, s.key))
    return chosen[:limit]


def _home_country(creator: User) -> str | None:
    try:
        return check_country(creator.country)
    except Invalid:  # an account from before countries were checked
        return None


def _keep(
    into: dict[tuple[str, str], tuple[float, Suggestion]],
    key: tuple[str, str],
    score: float,
    suggestion: Suggestion,
) -> None:
    if key not in into or into[key][0] < score:
        into[key] = (score, suggestion)


def _trend_suggestion(
    item: Rising, country: str | None, topic: str | None, mine: CreatorTopics
) -> Suggestion:
    where = f"in {country}" if country else "on Playback"
    reason = (
        f"{item.title} is up {item.growth:.1f}× {where} over the last {RECENT_FULL_DAYS} days "
        f"({_plays(item.recent_daily_plays)} plays a day against "
        f"{_plays(item.baseline_daily_plays)})"
    )
    reason += f"; {mine.say(topic)}." if topic is not None else "."
    evidence: dict[str, Any] = {
        "country": country,
        "growth": item.growth,
        "recent_plays": item.recent_plays,
        "recent_daily_plays": item.recent_daily_plays,
        "baseline_plays": item.baseline_plays,
        "baseline_daily_plays": item.baseline_daily_plays,
        "videos": item.videos,
        "topics": list(item.topics),
    }
    if topic is not None:
        evidence.update(mine.evidence(topic))
    return Suggestion(
        title=item.title,
        kind=item.kind,
        key=item.key,
        topic=topic or item.topics[0],
        reason=reason,
        evidence=evidence,
    )


def _gap_suggestion(gap: Gap, topic: str, mine: CreatorTopics) -> Suggestion:
    answered = {0: "no good video answers", 1: "only 1 good video answers"}.get(
        gap.good_videos, f"only {gap.good_videos} good videos answer"
    )
    reason = (
        f"“{gap.term}” was searched {gap.searches:,} times in the last {GAP_DAYS} days and "
        f"{answered} it yet; {mine.say(topic)}."
    )
    evidence: dict[str, Any] = {
        "searches": gap.searches,
        "average_results": gap.average_results,
        "videos": gap.videos,
        "good_videos": gap.good_videos,
        "topics": list(gap.topics),
        **mine.evidence(topic),
    }
    return Suggestion(
        title=f"“{gap.term}”",
        kind="search",
        key=gap.term,
        topic=topic,
        reason=reason,
        evidence=evidence,
    )


def _plays(daily: float) -> str:
    """As the evidence has it (0.1 plays), without the decimal once it says nothing."""
    if daily == 0:
        return "0"
    return f"{daily:,.0f}" if daily >= 10 else f"{daily:,.1f}"
