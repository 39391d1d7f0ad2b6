"""Response bodies of trends, content gaps and a creator's suggestions (the API and the trends
page build the same ones, so the page shows exactly the API's numbers)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from playback.analytics import trends
from playback.analytics.suggestions import Suggestion


class SeriesPointOut(BaseModel):
    day: dt.date
    plays: int


class TrendItemOut(BaseModel):
    rank: int
    key: str = Field(description="The hashtag's name, or the sound's id.")
    title: str
    artist: str | None = Field(description="A track's artist; null otherwise.")
    sound_kind: Literal["track", "original"] | None
    growth: float = Field(description="(recent + prior) / (baseline + prior), plays a day.")
    recent_plays: int
    recent_daily_plays: float
    baseline_plays: int
    baseline_daily_plays: float
    videos: int = Field(description="Public videos of public accounts that carry it.")
    topics: list[str]
    series: list[SeriesPointOut] = Field(description="Plays a day, oldest first, to today.")


class TrendWindowOut(BaseModel):
    recent_from: dt.date
    recent_to: dt.date
    recent_days: float = Field(description="Full days and the part of today gone by.")
    baseline_from: dt.date
    baseline_to: dt.date
    baseline_days: int
    prior_plays_per_day: float
    min_recent_plays: int


class TrendsOut(BaseModel):
    kind: Literal["hashtag", "sound"]
    country: str | None
    topic: str | None
    as_of: dt.datetime | None = Field(description="The rollups hold the plays up to about here.")
    window: TrendWindowOut
    items: list[TrendItemOut]

    @classmethod
    def of(cls, report: trends.TrendReport) -> TrendsOut:
        w = report.window
        return cls(
            kind=report.kind,
            country=report.country,
            topic=report.topic,
            as_of=report.as_of,
            window=TrendWindowOut(
                recent_from=w.recent_from,
                recent_to=w.today,
                recent_days=round(w.recent_days, 4),
                baseline_from=w.baseline_from,
                baseline_to=w.baseline_to,
                baseline_days=trends.BASELINE_DAYS,
                prior_plays_per_day=trends.PRIOR,
                min_recent_plays=trends.MIN_RECENT_PLAYS,
            ),
            items=[_item(rank, item) for rank, item in enumerate(report.items, start=1)],
        )


def _item(rank: int, item: trends.Rising) -> TrendItemOut:
    return TrendItemOut(
        rank=rank,
        key=item.key,
        title=item.title,
        artist=item.artist,
        sound_kind=item.sound_kind,
        growth=item.growth,
        recent_plays=item.recent_plays,
        recent_daily_plays=item.recent_daily_plays,
        baseline_plays=item.baseline_plays,
        baseline_daily_plays=item.baseline_daily_plays,
        videos=item.videos,
        topics=list(item.topics),
        series=[SeriesPointOut(day=day, plays=plays) for day, plays in item.series],
    )


class GapOut(BaseModel):
    rank: int
    term: str
    searches: int
    average_results: float = Field(description="Videos each search found, on average (≤ 21).")
    videos: int = Field(description="Videos the term finds for anyone now (at most 500).")
    good_videos: int
    topics: list[str]


class GapsOut(BaseModel):
    since: dt.date
    until: dt.date
    min_searches: int
    good_video: str = Field(description="What counts as a good video.")
    items: list[GapOut]

    @classmethod
    def of(cls, report: trends.GapReport) -> GapsOut:
        return cls(
            since=report.since,
            until=report.until,
            min_searches=trends.MIN_GAP_SEARCHES,
            good_video=(
                f"ready, public, of a public account, with at least {trends.GOOD_MIN_PLAYS} "
                f"plays of which at least {round(trends.GOOD_COMPLETION * 100)} % reached the end"
            ),
            items=[
                GapOut(
                    rank=rank,
                    term=g.term,
                    searches=g.searches,
                    average_results=g.average_results,
                    videos=g.videos,
                    good_videos=g.good_videos,
                    topics=list(g.topics),
                )
                for rank, g in enumerate(report.items, start=1)
            ],
        )


class SuggestionOut(BaseModel):
    title: str
    kind: Literal["hashtag", "sound", "search"]
    key: str = Field(description="The hashtag's name, the sound's id or the search term.")
    topic: str
    reason: str
    evidence: dict[str, Any]


class SuggestionsOut(BaseModel):
    items: list[SuggestionOut]

    @classmethod
    def of(cls, suggestions: list[Suggestion]) -> SuggestionsOut:
        return cls(
            items=[
                SuggestionOut(
                    title=s.title,
                    kind=s.kind,
                    key=s.key,
                    topic=s.topic,
                    reason=s.reason,
                    evidence=s.evidence,
                )
                for s in suggestions
            ]
        )
