"""Response bodies of the creator studio (and, later in this file, trends and insights)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel


class PeriodOut(BaseModel):
    start: dt.date
    end: dt.date  # inclusive; whole UTC days


class DayOut(BaseModel):
    day: dt.date
    views: int
    plays: int
    watch_ms: int
    likes: int
    comments: int
    shares: int
    saves: int
    followers: int


class OverviewTotals(BaseModel):
    views: int  # counted views (at most one per viewer per 10 minutes), as on the videos
    plays: int  # every play, replays included
    unique_viewers: int
    watch_ms: int
    followers: int  # net followers gained
    likes: int  # net likes gained (likes less unlikes)
    comments: int
    shares: int
    saves: int


class OverviewOut(BaseModel):
    period: PeriodOut
    as_of: dt.datetime | None  # the rollups hold every watch event up to about this moment
    totals: OverviewTotals
    total_likes: int
    next_milestone: int | None
    daily: list[DayOut]

    @classmethod
    def of(cls, report: dict[str, Any]) -> OverviewOut:
        return cls.model_validate({**report, "period": _period(report)})


class VideoSummaryOut(BaseModel):
    id: uuid.UUID
    caption: str
    created_at: dt.datetime
    status: str
    views: int
    plays: int
    watch_ms: int


class VideoListOut(BaseModel):
    period: PeriodOut
    items: list[VideoSummaryOut]


class RetentionPoint(BaseModel):
    second: int
    viewers: int  # plays still watching at this second
    share: float


class SourceOut(BaseModel):
    source: str  # for_you, following, profile, sound, hashtag, search
    plays: int
    views: int
    watch_ms: int
    share: float  # of the video's plays in the period


class VideoDayOut(BaseModel):
    day: dt.date
    views: int
    plays: int
    watch_ms: int


class VideoHourOut(BaseModel):
    hour: dt.datetime
    views: int
    plays: int


class VideoReportOut(BaseModel):
    id: uuid.UUID
    caption: str
    period: PeriodOut
    as_of: dt.datetime | None
    duration_ms: int
    views: int
    plays: int
    watch_ms: int
    average_watch_ms: float
    average_percent_watched: float  # 0..1, each play counted up to the video's length
    completion_rate: float  # 0..1, plays that reached the end
    retention: list[RetentionPoint]
    sources: list[SourceOut]
    followers_gained: int
    daily: list[VideoDayOut]
    hourly: list[VideoHourOut] | None  # periods of up to 7 days

    @classmethod
    def of(cls, report: dict[str, Any]) -> VideoReportOut:
        video = report["video"]
        return cls.model_validate(
            {**report, "id": video.id, "caption": video.caption, "period": _period(report)}
        )


class ShareOut(BaseModel):
    key: str
    plays: int
    share: float


class HourOut(BaseModel):
    hour: int  # 0..23 in the creator's time zone
    plays: int


class AudienceOut(BaseModel):
    period: PeriodOut
    as_of: dt.datetime | None
    plays: int
    time_zone: str
    age_bands: list[ShareOut]
    countries: list[ShareOut]
    hours: list[HourOut]

    @classmethod
    def of(cls, report: dict[str, Any]) -> AudienceOut:
        return cls.model_validate({**report, "period": _period(report)})


def _period(report: dict[str, Any]) -> PeriodOut:
    return PeriodOut(start=report["period"].start, end=report["period"].end)


class RhythmVideoOut(BaseModel):
    id: uuid.UUID
    caption: str
    posted_at: dt.datetime
    gap_days: float | None  # since the previous post; None for the first
    reach: int  # views in the video's first 7 days


class RhythmGroupOut(BaseModel):
    gap: str
    videos: int
    median_reach: float | None


class RhythmFindingOut(BaseModel):
    correlation: float | None  # Spearman's rank correlation of gap and reach
    text: str


class RhythmOut(BaseModel):
    reach_days: int
    videos: list[RhythmVideoOut]
    groups: list[RhythmGroupOut]
    finding: RhythmFindingOut

    @classmethod
    def of(cls, report: dict[str, Any]) -> RhythmOut:
        return cls(
            reach_days=report["reach_days"],
            videos=[
                RhythmVideoOut(
                    id=p.video.id,
                    caption=p.video.caption,
                    posted_at=p.video.created_at,
                    gap_days=p.gap_days,
                    reach=p.reach,
                )
                for p in report["videos"]
            ],
            groups=[RhythmGroupOut.model_validate(g) for g in report["groups"]],
            finding=RhythmFindingOut.model_validate(report["finding"]),
        )


class ActiveDayOut(BaseModel):
    day: dt.date
    active: int


class ActiveWeekOut(BaseModel):
    week: dt.date  # its Monday
    active: int
    partial: bool  # the period cuts the week: only its days inside are counted


class ActiveMonthOut(BaseModel):
    month: str  # YYYY-MM
    active: int
    partial: bool


class ActiveUsersOut(BaseModel):
    daily: list[ActiveDayOut]
    weekly: list[ActiveWeekOut]
    monthly: list[ActiveMonthOut]


class CountryCountOut(BaseModel):
    key: str
    signups: int


class SignupsOut(BaseModel):
    total: int
    months: list[str]
    by_age_band: dict[str, list[int]]  # band → signups per month
    countries: list[CountryCountOut]


class AgeMixOut(BaseModel):
    months: list[str]
    shares: dict[str, list[float]]  # band → share of plays per month


class CohortOut(BaseModel):
    week: dt.date  # the Monday of the signup week
    signups: int
    day_1: float | None  # share active 1 day after signing up (None: not known yet)
    day_7: float | None
    day_30: float | None


class ContentMixOut(BaseModel):
    months: list[str]
    topics: dict[str, list[int]]  # topic → videos posted per month


class CreatorsShareOut(BaseModel):
    month: str
    active: int
    creators: int  # active accounts that posted a video that month
    share: float


class InsightsOut(BaseModel):
    period: PeriodOut
    as_of: dt.datetime | None
    active_users: ActiveUsersOut
    signups: SignupsOut
    audience_age_mix: AgeMixOut
    retention: list[CohortOut]
    content_mix: ContentMixOut
    creators: list[CreatorsShareOut]
