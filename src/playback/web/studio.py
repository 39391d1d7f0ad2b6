"""The creator studio's pages: overview, one video's analytics, audience and posting rhythm.

Each page shows the same response bodies the API serves (``analytics.schemas``), drawn as
server-side SVG charts whose elements carry the numbers, with links to the CSV downloads.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from playback.analytics import charts, rhythm, service
from playback.analytics.schemas import AudienceOut, OverviewOut, RhythmOut, VideoReportOut
from playback.analytics.suggestions import suggestions_for
from playback.kit.time import today
from playback.kit.web import DB
from playback.web.pages import PageAuth, query_date, render

router = APIRouter(include_in_schema=False)
ENGAGEMENT = ("likes", "comments", "shares", "saves", "followers")


def _login(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={next_url}", status_code=303)


def _period(request: Request) -> service.Period:
    """The period in the query (``from``/``to``, or ``days``), checked like the API's."""
    q = request.query_params
    start, end = query_date(request, "from"), query_date(request, "to")
    if start is None and q.get("days", "").isdigit():
        end = end or today()
        start = end - dt.timedelta(days=int(q["days"]) - 1)
    return service.check_period(start, end)


def _query(period: service.Period) -> str:
    return f"from={period.start}&to={period.end}"


def _context(period: service.Period, section: str, **extra: Any) -> dict[str, Any]:
    return {"period": period, "query": _query(period), "section": section, **extra}


@router.get("/studio", response_class=HTMLResponse)
def overview_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _login("/studio")
    period = _period(request)
    report = OverviewOut.of(service.overview(db, auth.user, period))
    days = [d.day.isoformat() for d in report.daily]
    views_chart = charts.line_chart(
        [
            charts.Line("views", [d.views for d in report.daily], unit="views"),
            charts.Line("plays", [d.plays for d in report.daily], unit="plays"),
        ],
        title="Views and plays by day",
        x_labels=days,
        chart_id="daily-views",
    )
    engagement_chart = charts.line_chart(
        [charts.Line(name, [getattr(d, name) for d in report.daily]) for name in ENGAGEMENT],
        title="Net likes, comments, shares, saves and followers by day",
        x_labels=days,
        chart_id="daily-engagement",
    )
    videos = service.video_list(db, auth.user, period, limit=20)
    return render(
        request,
        "studio.html",
        _context(
            period,
            "overview",
            report=report,
            views_chart=views_chart,
            engagement_chart=engagement_chart,
            videos=videos,
            suggestions=suggestions_for(db, auth.user),
        ),
    )


@router.get("/studio/videos/{video_id}", response_class=HTMLResponse)
def video_page(video_id: uuid.UUID, request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _login(f"/studio/videos/{video_id}")
    period = _period(request)
    video = service.access_own_video(db, auth.user, video_id)
    report = VideoReportOut.of(service.video_report(db, video, period))
    if report.hourly is not None:
        x = [h.hour.strftime("%m-%d %H:00") for h in report.hourly]
        views = [h.views for h in report.hourly]
        title = "Views by hour (UTC)"
    else:
        x = [d.day.isoformat() for d in report.daily]
        views = [d.views for d in report.daily]
        title = "Views by day"
    views_chart = charts.line_chart(
        [charts.Line("views", views, unit="views")], title=title, x_labels=x, chart_id="video-views"
    )
    retention_chart = charts.line_chart(
        [charts.Line("still watching", [p.share for p in report.retention])],
        title="Share of plays still watching at each second",
        x_labels=[f"{p.second} s" for p in report.retention],
        y_format=charts.fmt_percent,
        chart_id="retention",
    )
    sources_chart = charts.bar_chart(
        [(s.source.replace("_", " "), s.plays) for s in report.sources],
        title="Plays by traffic source",
        horizontal=True,
        chart_id="sources",
    )
    return render(
        request,
        "studio_video.html",
        _context(
            period,
            "videos",
            report=report,
            views_chart=views_chart,
            retention_chart=retention_chart,
            sources_chart=sources_chart,
        ),
    )


@router.get("/studio/audience", response_class=HTMLResponse)
def audience_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _login("/studio/audience")
    period = _period(request)
    report = AudienceOut.of(service.audience(db, auth.user, period))
    return render(
        request,
        "studio_audience.html",
        _context(
            period,
            "audience",
            report=report,
            ages_chart=charts.bar_chart(
                [(a.key, a.plays) for a in report.age_bands],
                title="Plays by age band",
                horizontal=True,
                chart_id="age-bands",
            ),
            countries_chart=charts.bar_chart(
                [(c.key, c.plays) for c in report.countries[:15]],
                title="Plays by country",
                horizontal=True,
                chart_id="countries",
            ),
            hours_chart=charts.bar_chart(
                [(f"{h.hour:02d}", h.plays) for h in report.hours],
                title=f"Plays by hour of the day ({report.time_zone})",
                chart_id="hours",
            ),
        ),
    )


@router.get("/studio/rhythm", response_class=HTMLResponse)
def rhythm_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _login("/studio/rhythm")
    report = RhythmOut.of(rhythm.rhythm(db, auth.user))
    posts = [v for v in report.videos if v.gap_days is not None]
    scatter = charts.scatter_chart(
        [charts.Point(round(v.gap_days or 0, 2), v.reach, v.caption or str(v.id)) for v in posts],
        title=f"Reach in the first {report.reach_days} days against the gap before the post",
        x_title="days since the previous post",
        y_title="views",
        chart_id="rhythm",
    )
    groups = charts.bar_chart(
        [(g.gap, g.median_reach or 0) for g in report.groups],
        title="Median reach by gap before the post",
        horizontal=True,
        chart_id="rhythm-groups",
    )
    period = service.check_period(None, None)
    return render(
        request,
        "studio_rhythm.html",
        _context(period, "rhythm", report=report, scatter=scatter, groups=groups),
    )
