"""Posting rhythm: what consistency actually did for a creator.

For each of the creator's videos, the gap since their previous post and the video's reach
(views in its first 7 days, from the rollups). Grouped by gap, the medians show whether posting
closer together brought more reach per video — or, as often, did not. There is no streak here,
and nothing counts days without a post: a pause is not a failure.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from scipy import stats
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.analytics.models import VideoDay
from playback.media.models import Video

REACH_DAYS = 7
MIN_VIDEOS = 6  # fewer videos than this say nothing either way
GAPS = (  # (label, lower bound in days, upper bound)
    ("under a day", 0.0, 1.0),
    ("1–3 days", 1.0, 3.0),
    ("3–7 days", 3.0, 7.0),
    ("1–2 weeks", 7.0, 14.0),
    ("2 weeks or more", 14.0, float("inf")),
)


@dataclass(frozen=True)
class Posted:
    video: Video
    gap_days: float | None  # None for the first video
    reach: int  # views in its first REACH_DAYS days


def rhythm(db: Session, creator: User) -> dict[str, Any]:
    videos = db.scalars(
        sa.select(Video)
        .where(Video.creator_id == creator.id, Video.status == "ready")
        .order_by(Video.created_at)
    ).all()
    reach: dict[Any, int] = {}
    if videos:
        first_day = videos[0].created_at.date()
        rows = db.execute(
            sa.select(VideoDay.video_id, VideoDay.day, VideoDay.views).where(
                VideoDay.creator_id == creator.id, VideoDay.day >= first_day
            )
        )
        posted_on = {v.id: v.created_at.date() for v in videos}
        for video_id, day, views in rows:
            start = posted_on.get(video_id)
            if start is not None and start <= day < start + dt.timedelta(days=REACH_DAYS):
                reach[video_id] = reach.get(video_id, 0) + int(views)
    posts: list[Posted] = []
    for i, video in enumerate(videos):
        gap = None
        if i:
            gap = (video.created_at - videos[i - 1].created_at).total_seconds() / 86400
        posts.append(Posted(video, gap, reach.get(video.id, 0)))
    groups = []
    for label, low, high in GAPS:
        reaches = [p.reach for p in posts if p.gap_days is not None and low <= p.gap_days < high]
        groups.append(
            {
                "gap": label,
                "videos": len(reaches),
                "median_reach": statistics.median(reaches) if reaches else None,
            }
        )
    return {
        "reach_days": REACH_DAYS,
        "videos": posts,
        "groups": groups,
        "finding": _finding(posts),
    }


def _finding(posts: list[Posted]) -> dict[str, Any]:
    """What the numbers say, in a sentence, with the rank correlation behind it."""
    pairs = [(p.gap_days, p.reach) for p in posts if p.gap_days is not None]
    if len(pairs) < MIN_VIDEOS:
        return {
            "correlation": None,
            "text": "Too few videos yet to tell whether posting more often changes your reach.",
        }
    gaps, reaches = zip(*pairs, strict=True)
    if len(set(gaps)) < 2 or len(set(reaches)) < 2:
        rho = 0.0
    else:
        rho = float(stats.spearmanr(gaps, reaches).statistic)
    if rho <= -0.3:
        text = (
            "Your videos posted closer together reached a little more each "
            f"(rank correlation {rho:.2f}); rest still costs you little."
        )
    elif rho >= 0.3:
        text = (
            "Your videos posted after a longer pause reached more each "
            f"(rank correlation {rho:.2f}): taking your time has paid off."
        )
    else:
        text = (
            "How often you post made no clear difference to how far each video reached "
            f"(rank correlation {rho:.2f}). Post when you have something you like."
        )
    return {"correlation": round(rho, 3), "text": text}
