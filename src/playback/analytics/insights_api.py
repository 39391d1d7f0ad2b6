"""Platform insights routes, for operators (role ``admin``)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query

from playback.accounts.auth import CurrentUser
from playback.analytics import insights, service
from playback.analytics.schemas import InsightsOut
from playback.errors import Invalid, error_responses
from playback.kit.time import today
from playback.kit.web import DB

router = APIRouter(prefix="/api/v1/insights", tags=["insights"])

Start = Annotated[dt.date | None, Query(alias="from", description="first day (UTC), inclusive")]
End = Annotated[dt.date | None, Query(alias="to", description="last day (UTC), inclusive")]
INSIGHTS_DEFAULT_DAYS = 180


def insights_period(start: dt.date | None, end: dt.date | None) -> service.Period:
    if start is None and end is None:
        end = today()
        start = end - dt.timedelta(days=INSIGHTS_DEFAULT_DAYS - 1)
    return service.check_period(start, end)


@router.get("", response_model=InsightsOut, responses=error_responses(401, 403, 422))
def platform_insights(
    user: CurrentUser, db: DB, start: Start = None, end: End = None
) -> InsightsOut:
    """Daily, weekly and monthly active users; signups by age band and country; the audience's
    age mix month by month; day 1, 7 and 30 retention of each week's signups; videos posted
    by topic; and the share of active users who create. Default: the last 180 days. 403
    ``not_an_admin`` for anyone but operators."""
    insights.check_admin(user)
    period = insights_period(start, end)
    return InsightsOut.model_validate(insights.overview(db, period.start, period.end))


MAX_THRESHOLDS = 10
FORECASTS_KEPT = 32  # forecasts kept in memory, by (months, thresholds, months ahead)


def platform_forecast(db: DB, thresholds: list[str], months_ahead: int) -> Any:
    """The growth forecast of the platform's monthly active users (complete months only)."""
    from playback.analytics.series import parse_threshold

    if len(thresholds) > MAX_THRESHOLDS:
        raise Invalid(f"At most {MAX_THRESHOLDS} thresholds.", code="too_many_thresholds")
    levels = tuple(parse_threshold(t) for t in thresholds)
    return _forecast_of(tuple(insights.monthly_active_series(db)), levels, months_ahead)


@functools.lru_cache(maxsize=FORECASTS_KEPT)
def _forecast_of(
    months: tuple[tuple[dt.date, int], ...], levels: tuple[float, ...], months_ahead: int
) -> Any:
    """The same months and question always get the same forecast (it is seeded), so one is
    computed once: the series changes once a month, and 200 bootstrap fits take a while."""
    from playback.analytics.forecast import forecast
    from playback.analytics.series import Series

    series = Series.from_pairs(list(months), name="monthly active users")
    return forecast(series, levels, months_ahead=months_ahead)


@router.get("/forecast", responses=error_responses(401, 403, 422))
def growth_forecast(
    user: CurrentUser,
    db: DB,
    threshold: Annotated[
        list[str] | None,
        Query(max_length=40, description='users to reach, e.g. "600 million", "1B", "2e9"'),
    ] = None,
    months_ahead: Annotated[int, Query(ge=1, le=240)] = 60,
) -> dict[str, Any]:
    """Where the platform's monthly active users level off: logistic, Gompertz and Bass
    diffusion fitted to every complete month, the model with the lowest error on the held-out
    last months chosen, the ceiling and the month each ``threshold`` is reached with bootstrap
    intervals, and the projection. 422 ``series_too_short`` (and the other ``series_*``
    codes) rather than a forecast the data cannot support."""
    insights.check_admin(user)
    return platform_forecast(db, threshold or [], months_ahead).to_json()
