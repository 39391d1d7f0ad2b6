"""Trend routes: rising hashtags and sounds, content gaps in search, and a creator's
suggestions of what to make next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from playback.accounts.auth import CurrentUser
from playback.analytics import trends
from playback.analytics.suggestions import suggestions_for
from playback.analytics.topics import NAMES
from playback.analytics.trends_schemas import GapsOut, SuggestionsOut, TrendsOut
from playback.errors import error_responses
from playback.kit.web import DB

router = APIRouter(prefix="/api/v1")

Country = Annotated[
    str | None,
    Query(max_length=8, description="ISO 3166-1 alpha-2 country; everywhere when absent"),
]
Topic = Annotated[str | None, Query(max_length=16, description=f"One of {', '.join(NAMES)}")]
Limit = Annotated[int, Query(ge=1, le=trends.MAX_LIMIT)]


@router.get(
    "/trends/hashtags", response_model=TrendsOut, responses=error_responses(422), tags=["trends"]
)
def rising_hashtags(
    db: DB, country: Country = None, topic: Topic = None, limit: Limit = 20
) -> TrendsOut:
    """Hashtags rising fastest against their own baseline: plays a day over the last 3 days
    and today so far against the average day of the 28 before, with a prior of 10 plays a day
    on both sides; at least 20 recent plays. 422 ``bad_country``, ``bad_topic``."""
    return TrendsOut.of(
        trends.trend_report(db, kind="hashtag", country=country, topic=topic, limit=limit)
    )


@router.get(
    "/trends/sounds", response_model=TrendsOut, responses=error_responses(422), tags=["trends"]
)
def rising_sounds(
    db: DB, country: Country = None, topic: Topic = None, limit: Limit = 20
) -> TrendsOut:
    """Sounds rising fastest against their own baseline (as for hashtags); tracks only where a
    licence lets creators use them. 422 ``bad_country``, ``bad_topic``."""
    return TrendsOut.of(
        trends.trend_report(db, kind="sound", country=country, topic=topic, limit=limit)
    )


@router.get(
    "/trends/searches", response_model=GapsOut, responses=error_responses(422), tags=["trends"]
)
def content_gaps(db: DB, limit: Limit = 20) -> GapsOut:
    """Content gaps: terms searched at least 5 times in the last 7 days that few good videos
    answer yet, the most searches per good video first."""
    return GapsOut.of(trends.gap_report(db, limit=limit))


@router.get(
    "/studio/suggestions",
    response_model=SuggestionsOut,
    responses=error_responses(401, 422),
    tags=["studio"],
)
def suggestions(
    user: CurrentUser, db: DB, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> SuggestionsOut:
    """What you could make next: rising hashtags and sounds in your topics (in your country
    and everywhere) and searches in them that few good videos answer, each with the reason and
    the numbers behind it."""
    return SuggestionsOut.of(suggestions_for(db, user, limit=limit))
