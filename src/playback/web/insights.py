"""The operators' platform insights page: active users, signups, the audience's age mix,
retention cohorts, the content mix, creators, and the growth forecast."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from playback.analytics import charts, insights
from playback.analytics.insights_api import insights_period, platform_forecast
from playback.analytics.schemas import InsightsOut
from playback.errors import Invalid
from playback.kit.web import DB
from playback.web.pages import PageAuth, query_date, render

router = APIRouter(include_in_schema=False)
FORECAST_MONTHS = 36


@router.get("/insights", response_class=HTMLResponse)
def insights_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return RedirectResponse("/login?next=/insights", status_code=303)
    insights.check_admin(auth.user)
    period = insights_period(query_date(request, "from"), query_date(request, "to"))
    report = InsightsOut.model_validate(insights.overview(db, period.start, period.end))
    thresholds = request.query_params.get("thresholds", "600M, 1B")
    return render(
        request,
        "insights.html",
        {
            "report": report,
            "period": period,
            "charts": _charts(report),
            "thresholds": thresholds,
            **_forecast(db, thresholds),
        },
    )


def _forecast(db: DB, thresholds: str) -> dict[str, Any]:
    """The growth forecast's chart and figures, or the reason there is none."""
    wanted = [t.strip() for t in thresholds.split(",") if t.strip()]
    try:
        result = platform_forecast(db, wanted, FORECAST_MONTHS).to_json()
    except Invalid as exc:
        return {"forecast": None, "forecast_error": exc}
    fitted, projection = result["fitted"], result["projection"]
    months = [p["month"][:7] for p in fitted + projection]
    low: list[float | None] = [None] * len(fitted)
    high: list[float | None] = [None] * len(fitted)
    for p in projection:
        widest = max(p["intervals"], key=lambda i: i["level"])
        bounded = widest["low"] is not None and widest["high"] is not None
        low.append(widest["low"] if bounded else None)
        high.append(widest["high"] if bounded else None)
    markers = [
        (months.index(t["month"][:7]), f"{charts.fmt_compact(t['threshold'])} reached")
        for t in result["thresholds"]
        if t["month"] and t["month"][:7] in months
    ]
    chart = charts.line_chart(
        [
            charts.Line("observed", [p["observed"] for p in fitted] + [None] * len(projection)),
            charts.Line(
                result["model"], [p["fitted"] for p in fitted] + [p["value"] for p in projection]
            ),
        ],
        title="Monthly active users: observed, fitted and projected",
        x_labels=months,
        band=charts.Band("95 % interval", low, high),
        markers=markers,
        chart_id="forecast",
    )
    return {"forecast": result, "forecast_chart": chart, "forecast_error": None}


def _charts(report: InsightsOut) -> dict[str, Any]:
    active = report.active_users
    signups = report.signups
    mix = report.audience_age_mix
    content = report.content_mix
    return {
        "daily": charts.line_chart(
            [charts.Line("daily active", [d.active for d in active.daily], unit="accounts")],
            title="Daily active users",
            x_labels=[d.day.isoformat() for d in active.daily],
            chart_id="dau",
        ),
        "weekly": charts.bar_chart(
            [(w.week.isoformat(), w.active) for w in active.weekly],
            title="Weekly active users (weeks from Monday)",
            chart_id="wau",
        ),
        "monthly": charts.bar_chart(
            [(m.month, m.active) for m in active.monthly],
            title="Monthly active users",
            chart_id="mau",
        ),
        "signups": charts.stacked_bar_chart(
            signups.months,
            [charts.Line(band, values) for band, values in signups.by_age_band.items()],
            title="Signups by age band",
            chart_id="signups",
        ),
        "countries": charts.bar_chart(
            [(c.key, c.signups) for c in signups.countries[:15]],
            title="Signups by country",
            horizontal=True,
            chart_id="signup-countries",
        ),
        "age_mix": charts.stacked_bar_chart(
            mix.months,
            [charts.Line(band, values) for band, values in mix.shares.items()],
            title="The audience's age mix (share of plays by logged-in viewers)",
            y_format=charts.fmt_percent,
            chart_id="age-mix",
        ),
        "content": charts.stacked_bar_chart(
            content.months,
            [charts.Line(topic, values) for topic, values in content.topics.items()],
            title="Videos posted by topic",
            chart_id="content-mix",
        ),
        "creators": charts.line_chart(
            [charts.Line("share who create", [c.share for c in report.creators])],
            title="Share of monthly active users who posted a video",
            x_labels=[c.month for c in report.creators],
            y_format=charts.fmt_percent,
            chart_id="creators",
        ),
    }
