"""Platform insights reconcile with the raw rows: active users (daily, weekly, monthly) are
distinct accounts in ``watch_events``; signups, cohorts, the content mix and the share of
creators are recomputed from ``users``, ``videos`` and the events and compared."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.analytics import rollups
from playback.analytics.insights import Month
from playback.analytics.insights_api import _forecast_of
from playback.analytics.rollups import age_band_on
from playback.db import Database
from playback.engagement.models import WatchEvent
from playback.kit.time import UTC, set_clock
from tests.conftest import login, post_video, signup_and_login

FAR = dt.datetime(2100, 1, 1, tzinfo=UTC)
TODAY = dt.datetime.now(UTC).date()


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def moment(n: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(hour, minute), UTC)


@pytest.fixture
def platform(client: TestClient, database: Database, clip: Path) -> dict[str, Any]:
    set_clock(lambda: moment(80))
    signup_and_login(client, "operator", age=40)
    with database.unit_of_work() as db:
        db.execute(sa.text("UPDATE users SET role = 'admin' WHERE handle = 'operator'"))
    _, creator = signup_and_login(client, "ins_creator", age=24, country="DE")
    videos = [
        post_video(client, creator, clip, caption="#dance all day"),
        post_video(client, creator, clip, caption="a #recipe for soup"),
    ]
    signup_days = [70, 70, 69, 45, 44, 40, 40, 12, 10, 3]
    ages = [14, 16, 19, 27, 38, 50, 61, 22, 33, 45]
    countries = ["GB", "DE", "US", "DE", "FR", "US", "DE", "BR", "DE", "JP"]
    for i, (n, age, country) in enumerate(zip(signup_days, ages, countries, strict=True)):
        set_clock(lambda n=n, i=i: moment(n, 9, i))
        signup_and_login(client, f"ins_p{i}", age=age, country=country)
    # Person i watches on the days below (days after their signup).
    for i, n in enumerate(signup_days):
        for after in {0, 1, 7, 30, i, 2 * i} - ({30} if i % 3 == 0 else set()):
            if n - after < 0:
                continue
            set_clock(lambda n=n, after=after, i=i: moment(n - after, 15, i))
            client.cookies.clear()
            response = client.post(  # a fresh session: a month-old one has expired
                f"/api/v1/videos/{videos[i % 2]}/views",
                json={"watched_ms": 1000, "source": "for_you"},
                headers=login(client, f"ins_p{i}"),
            )
            assert response.status_code == 201
    set_clock(lambda: moment(5))
    post_video(client, login(client, "ins_p8"), clip, caption="my first #vlog")
    set_clock(None)
    rollups.roll_all(database, until=FAR)
    # Sessions made 80 days ago have expired: log in again today.
    return {"admin": login(client, "operator"), "creator": login(client, "ins_creator")}


def raw(database: Database) -> list[Any]:
    with database.unit_of_work() as db:
        return db.execute(
            sa.select(WatchEvent.viewer_key, WatchEvent.created_at).where(
                WatchEvent.viewer_id.is_not(None)
            )
        ).all()


def test_active_users_are_distinct_accounts(
    client: TestClient, database: Database, platform: dict[str, Any]
) -> None:
    start, end = day(89), day(0)
    body = client.get(f"/api/v1/insights?from={start}&to={end}", headers=platform["admin"]).json()
    events = raw(database)
    by_day: dict[dt.date, set[str]] = defaultdict(set)
    for key, at in events:
        by_day[at.date()].add(key)
    for d in body["active_users"]["daily"]:
        assert d["active"] == len(by_day[dt.date.fromisoformat(d["day"])]), d
    assert any(d["active"] > 1 for d in body["active_users"]["daily"])
    for w in body["active_users"]["weekly"]:
        monday = dt.date.fromisoformat(w["week"])
        keys = set().union(*(by_day[monday + dt.timedelta(days=k)] for k in range(7)))
        assert w["active"] == len(keys), w
    for m in body["active_users"]["monthly"]:
        keys = {k for k, at in events if str(Month.of(at.date())) == m["month"]}
        assert m["active"] == len(keys), m
    assert sum(m["active"] for m in body["active_users"]["monthly"]) < sum(
        d["active"] for d in body["active_users"]["daily"]
    )  # unions, not sums


def test_signups_cohorts_content_and_creators(
    client: TestClient, database: Database, platform: dict[str, Any]
) -> None:
    start, end = day(89), day(0)
    body = client.get(f"/api/v1/insights?from={start}&to={end}", headers=platform["admin"]).json()
    with database.unit_of_work() as db:
        users = db.execute(sa.text("SELECT id, birthdate, country, created_at FROM users")).all()
    bands: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for _, birthdate, country, created_at in users:
        born = birthdate if isinstance(birthdate, dt.date) else dt.date.fromisoformat(birthdate)
        at = (
            created_at
            if isinstance(created_at, dt.datetime)
            else dt.datetime.fromisoformat(created_at)
        )
        bands[age_band_on(born, at.date())] += 1
        countries[country] += 1
    signups = body["signups"]
    assert signups["total"] == len(users) == 12
    assert {b: sum(v) for b, v in signups["by_age_band"].items() if sum(v)} == dict(bands)
    assert {c["key"]: c["signups"] for c in signups["countries"]} == dict(countries)

    events = raw(database)
    active_days: dict[str, set[dt.date]] = defaultdict(set)
    for key, at in events:
        active_days[key].add(at.date())
    cohorts = {c["week"]: c for c in body["retention"]}
    expected: dict[dt.date, list[tuple[str, dt.date]]] = defaultdict(list)
    for uid, _, _, created_at in users:
        at = (
            created_at
            if isinstance(created_at, dt.datetime)
            else dt.datetime.fromisoformat(created_at)
        )
        d = at.date()
        key = f"user:{uuid.UUID(str(uid))}"  # SQLite returns the id as bare hex
        expected[d - dt.timedelta(days=d.weekday())].append((key, d))
    assert set(cohorts) == {w.isoformat() for w in expected}
    last = max(at.date() for _, at in events)
    for week, members in expected.items():
        row = cohorts[week.isoformat()]
        assert row["signups"] == len(members)
        for n in (1, 7, 30):
            if any(d + dt.timedelta(days=n) > last for _, d in members):
                assert row[f"day_{n}"] is None
                continue
            kept = sum(d + dt.timedelta(days=n) in active_days[k] for k, d in members)
            assert row[f"day_{n}"] == pytest.approx(kept / len(members)), (week, n)
    assert any(row["day_30"] not in (None, 0.0, 1.0) for row in cohorts.values())

    mix = body["content_mix"]
    assert sum(mix["topics"]["dance"]) == 1
    assert sum(mix["topics"]["food"]) == 1
    assert sum(mix["topics"]["vlogs"]) == 1
    creators = {c["month"]: c for c in body["creators"]}
    five_days_ago = str(Month.of(day(5)))
    assert creators[five_days_ago]["creators"] == 1  # ins_p8 posted and watched that month
    assert creators[five_days_ago]["share"] == pytest.approx(1 / creators[five_days_ago]["active"])
    shares = body["audience_age_mix"]["shares"]
    for i, _ in enumerate(body["audience_age_mix"]["months"]):
        column = [shares[b][i] for b in shares]
        assert sum(column) == pytest.approx(1.0) or sum(column) == 0


def test_only_operators_see_insights(client: TestClient, platform: dict[str, Any]) -> None:
    response = client.get("/api/v1/insights", headers=platform["creator"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_an_admin"
    assert client.get("/api/v1/insights").status_code == 401
    bad = client.get("/api/v1/insights?from=2999-01-01", headers=platform["admin"])
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "period_in_future"


def test_the_insights_page_draws_the_api_numbers(
    client: TestClient, platform: dict[str, Any]
) -> None:
    import re

    start, end = day(89), day(0)
    query = f"from={start}&to={end}"
    body = client.get(f"/api/v1/insights?{query}", headers=platform["admin"]).json()
    page = client.get(f"/insights?{query}", headers=platform["admin"])
    assert page.status_code == 200, page.text
    dau = re.findall(r'data-series="daily active" data-x="([^"]+)" data-value="(\d+)"', page.text)
    assert dau == [(d["day"], str(d["active"])) for d in body["active_users"]["daily"]]
    mau = re.findall(r'data-label="(\d{4}-\d{2})" data-value="(\d+)"', page.text)
    assert mau == [(m["month"], str(m["active"])) for m in body["active_users"]["monthly"]]
    assert client.get("/insights", headers=platform["creator"]).status_code == 403


def test_too_little_history_gets_no_forecast(client: TestClient, platform: dict[str, Any]) -> None:
    response = client.get("/api/v1/insights/forecast", headers=platform["admin"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "series_too_short"
    page = client.get("/insights", headers=platform["admin"])
    assert 'data-testid="forecast-unavailable"' in page.text
    assert "series_too_short" in page.text


def test_the_platform_forecast_fits_its_monthly_actives(
    client: TestClient, database: Database
) -> None:
    """Two years of monthly actives following a logistic curve (ceiling 1,000) — written as
    daily bitmaps, one day a month, as the rollup would — are forecast through the API and the
    page."""
    import math
    import re

    import numpy as np

    from playback.analytics import bitmaps
    from playback.analytics.models import PlatformDay

    _, admin = signup_and_login(client, "forecast_ops", age=40)
    with database.unit_of_work() as db:
        db.execute(sa.text("UPDATE users SET role = 'admin' WHERE handle = 'forecast_ops'"))
        index = TODAY.year * 12 + TODAY.month - 1 - 24  # 24 months up to the last one
        month = dt.date(index // 12, index % 12 + 1, 1)
        expected = []
        for i in range(24):
            active = round(1000 / (1 + math.exp(-0.35 * (i - 10))))
            blob = bitmaps.encode(np.arange(active, dtype=np.uint32))
            db.add(PlatformDay(day=month.replace(day=15), active=blob, active_count=active))
            expected.append((month.isoformat()[:7], active))
            month = (month + dt.timedelta(days=32)).replace(day=1)
    response = client.get(
        "/api/v1/insights/forecast?threshold=500&threshold=1%20billion", headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    observed = [(p["month"][:7], p["observed"]) for p in body["fitted"]]
    assert expected[-1][0] < TODAY.isoformat()[:7]  # 24 complete months
    assert observed == [(m, float(v)) for m, v in expected]
    assert abs(body["ceiling"]["value"] - 1000) < 100
    reach_500, reach_billion = body["thresholds"]
    assert reach_500["status"] == "observed" and reach_500["month"] is not None
    assert reach_billion["status"] == "above_ceiling" and reach_billion["month"] is None
    bad = client.get("/api/v1/insights/forecast?threshold=lots", headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_threshold"
    page = client.get("/insights?thresholds=500", headers=admin)
    assert page.status_code == 200
    drawn = re.findall(r'data-series="observed" data-x="([^"]+)" data-value="([^"]+)"', page.text)
    assert [(m, float(v)) for m, v in drawn] == observed
    assert 'data-testid="forecast-ceiling"' in page.text
    # Asked again about the same months, the forecast is the one already made.
    made = _forecast_of.cache_info()
    again = client.get(
        "/api/v1/insights/forecast?threshold=500&threshold=1%20billion", headers=admin
    )
    assert again.json() == body
    after = _forecast_of.cache_info()
    assert (after.hits, after.misses) == (made.hits + 1, made.misses)
