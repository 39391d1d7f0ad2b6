"""Platform insights routes, for operators (role ``admin``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from playback.accounts.auth import CurrentUser
from playback.analytics import insights, service
from playback.analytics.schemas import InsightsOut
from playback.errors import error_responses
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
