"""The trends page: rising hashtags and sounds (per country and topic) with their growth and
a sparkline each, and the searches few good videos answer yet. Open to everyone.

It renders the API's own response bodies (``trends_schemas``), so every chart's data attributes
carry exactly the numbers ``/api/v1/trends/*`` serves.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from playback.analytics import charts, trends
from playback.analytics.topics import NAMES
from playback.analytics.trends_schemas import GapsOut, TrendsOut
from playback.errors import DomainError
from playback.kit.time import utcnow
from playback.kit.web import DB
from playback.web.pages import COUNTRIES, PageAuth, render

router = APIRouter(include_in_schema=False)
SHOWN = 20
SPARK_WIDTH, SPARK_HEIGHT = 240, 100
BARS_WIDTH = 480  # labels stay legible on a phone


def growth_label(value: float) -> str:
    return f"{value:.2f}×"


@router.get("/trends", response_class=HTMLResponse)
def trends_page(
    request: Request,
    db: DB,
    auth: PageAuth,
    country: Annotated[str, Query(max_length=8)] = "",
    topic: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    context: dict[str, Any] = {
        "countries": COUNTRIES,
        "topics": NAMES,
        "country": country.strip().upper(),
        "topic": topic.strip().lower(),
        "sections": [],
        "gaps": None,
        "logged_in": auth is not None,
    }
    now = utcnow()
    try:
        reports = [
            TrendsOut.of(
                trends.trend_report(
                    db, kind=kind, country=country, topic=topic, now=now, limit=SHOWN
                )
            )
            for kind in trends.KINDS
        ]
    except DomainError as exc:
        return render(
            request, "trends.html", {**context, "error": exc}, status_code=exc.status_code
        )
    context["sections"] = [_section(report) for report in reports]
    gaps = GapsOut.of(trends.gap_report(db, now=now, limit=SHOWN))
    context["gaps"] = gaps
    context["gaps_chart"] = charts.bar_chart(
        [(g.term, g.searches) for g in gaps.items],
        title="Searches in the last 7 days that few good videos answer",
        y_format=charts.fmt_int,
        horizontal=True,
        width=BARS_WIDTH,
        chart_id="search-gaps",
    )
    return render(request, "trends.html", context)


def _section(report: TrendsOut) -> dict[str, Any]:
    kind = report.kind
    name = "Hashtags" if kind == "hashtag" else "Sounds"
    return {
        "kind": kind,
        "name": name,
        "report": report,
        "growth_chart": charts.bar_chart(
            [(item.title, item.growth) for item in report.items],
            title=f"{name}: growth against their own baseline",
            y_format=growth_label,
            horizontal=True,
            width=BARS_WIDTH,
            chart_id=f"{kind}-growth",
        ),
        "sparklines": [
            charts.line_chart(
                [charts.Line("plays", [p.plays for p in item.series], unit="plays")],
                title=f"Plays a day of {item.title}",
                x_labels=[p.day.isoformat() for p in item.series],
                width=SPARK_WIDTH,
                height=SPARK_HEIGHT,
                chart_id=f"{kind}-{item.rank}-plays",
            )
            for item in report.items
        ],
    }
