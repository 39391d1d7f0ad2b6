"""Creator studio routes: a creator's own figures for a period, as JSON and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from playback.accounts.auth import CurrentUser
from playback.accounts.models import User
from playback.analytics import rhythm, service
from playback.analytics.schemas import (
    AudienceOut,
    OverviewOut,
    PeriodOut,
    RhythmOut,
    VideoListOut,
    VideoReportOut,
    VideoSummaryOut,
)
from playback.errors import error_responses
from playback.kit.web import DB

router = APIRouter(prefix="/api/v1/studio", tags=["studio"])

Start = Annotated[dt.date | None, Query(alias="from", description="first day (UTC), inclusive")]
End = Annotated[dt.date | None, Query(alias="to", description="last day (UTC), inclusive")]
Creator = Annotated[
    str | None, Query(max_length=24, description="your own handle; anyone else's is 404")
]
ERRORS = error_responses(401, 404, 422)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The figures as CSV"}
}


def _scope(
    user: User, creator: str | None, start: dt.date | None, end: dt.date | None
) -> tuple[User, service.Period]:
    return service.access_studio(user, creator), service.check_period(start, end)


@router.get("/overview", response_model=OverviewOut, responses=ERRORS)
def overview(
    user: CurrentUser, db: DB, start: Start = None, end: End = None, creator: Creator = None
) -> OverviewOut:
    """Your views, plays, unique viewers, watch time, and the net likes, comments, shares,
    saves and followers gained, in total and day by day (default: the last 28 days); your
    profile's total likes and the next milestone. 422 ``period_in_future``,
    ``period_reversed``, ``period_too_long``."""
    owner, period = _scope(user, creator, start, end)
    return OverviewOut.of(service.overview(db, owner, period))


@router.get("/overview.csv", response_class=Response, responses={**ERRORS, **CSV})
def overview_csv(
    user: CurrentUser, db: DB, start: Start = None, end: End = None, creator: Creator = None
) -> Response:
    """The overview's days as CSV."""
    owner, period = _scope(user, creator, start, end)
    report = OverviewOut.of(service.overview(db, owner, period))
    return _csv(
        f"overview-{period.start}-{period.end}.csv",
        list(report.daily[0].model_dump()) if report.daily else ["day"],
        ([*d.model_dump().values()] for d in report.daily),
    )


@router.get("/videos", response_model=VideoListOut, responses=ERRORS)
def videos(
    user: CurrentUser, db: DB, start: Start = None, end: End = None, creator: Creator = None
) -> VideoListOut:
    """Your videos with their views, plays and watch time in the period, most viewed first."""
    owner, period = _scope(user, creator, start, end)
    return VideoListOut(
        period=PeriodOut(start=period.start, end=period.end),
        items=[_summary(item) for item in service.video_list(db, owner, period)],
    )


@router.get("/videos/{video_id}.csv", response_class=Response, responses={**ERRORS, **CSV})
def video_csv(
    video_id: uuid.UUID, user: CurrentUser, db: DB, start: Start = None, end: End = None
) -> Response:
    """The video's figures as CSV, one row per day, second of retention and traffic source
    (``section`` says which)."""
    period = service.check_period(start, end)
    report = VideoReportOut.of(
        service.video_report(db, service.access_own_video(db, user, video_id), period)
    )
    rows: list[list[Any]] = []
    rows += [["day", d.day, d.views, d.plays, d.watch_ms, ""] for d in report.daily]
    rows += [["retention", p.second, "", p.viewers, "", p.share] for p in report.retention]
    rows += [["source", s.source, s.views, s.plays, s.watch_ms, s.share] for s in report.sources]
    return _csv(
        f"video-{video_id}-{period.start}-{period.end}.csv",
        ["section", "key", "views", "plays", "watch_ms", "share"],
        rows,
    )


@router.get("/videos/{video_id}", response_model=VideoReportOut, responses=ERRORS)
def video(
    video_id: uuid.UUID, user: CurrentUser, db: DB, start: Start = None, end: End = None
) -> VideoReportOut:
    """One of your videos in the period: views day by day (and hour by hour for up to 7
    days), average watch time and percentage watched, completion rate, the retention curve
    (share of plays still watching at each second), traffic sources and the followers its
    follow button brought. Someone else's video is 404."""
    period = service.check_period(start, end)
    target = service.access_own_video(db, user, video_id)
    return VideoReportOut.of(service.video_report(db, target, period))


@router.get("/audience", response_model=AudienceOut, responses=ERRORS)
def audience(
    user: CurrentUser, db: DB, start: Start = None, end: End = None, creator: Creator = None
) -> AudienceOut:
    """Who watched you in the period: plays by age band and by country, and by hour of the day
    in your time zone."""
    owner, period = _scope(user, creator, start, end)
    return AudienceOut.of(service.audience(db, owner, period))


@router.get("/audience.csv", response_class=Response, responses={**ERRORS, **CSV})
def audience_csv(
    user: CurrentUser, db: DB, start: Start = None, end: End = None, creator: Creator = None
) -> Response:
    """The audience as CSV: one row per age band, country and hour."""
    owner, period = _scope(user, creator, start, end)
    report = AudienceOut.of(service.audience(db, owner, period))
    rows: list[list[Any]] = []
    rows += [["age_band", s.key, s.plays, s.share] for s in report.age_bands]
    rows += [["country", s.key, s.plays, s.share] for s in report.countries]
    rows += [
        ["hour", h.hour, h.plays, h.plays / report.plays if report.plays else 0.0]
        for h in report.hours
    ]
    return _csv(
        f"audience-{period.start}-{period.end}.csv", ["dimension", "key", "plays", "share"], rows
    )


@router.get("/rhythm", response_model=RhythmOut, responses=error_responses(401, 404, 422))
def posting_rhythm(user: CurrentUser, db: DB, creator: Creator = None) -> RhythmOut:
    """What your posting rhythm did: each video's reach in its first 7 days against the gap
    since your previous post, the median reach by gap, and what that says. Never a streak."""
    return RhythmOut.of(rhythm.rhythm(db, service.access_studio(user, creator)))


def _summary(item: dict[str, Any]) -> VideoSummaryOut:
    video = item["video"]
    return VideoSummaryOut(
        id=video.id,
        caption=video.caption,
        created_at=video.created_at,
        status=video.status,
        views=item["views"],
        plays=item["plays"],
        watch_ms=item["watch_ms"],
    )


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
