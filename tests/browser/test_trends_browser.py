"""The trends page in a real browser: its charts carry exactly the API's numbers (growth bars,
daily sparklines, searches of the content gaps), and the filters narrow it by country and topic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.analytics import rollups
from playback.db import Database
from playback.kit.time import UTC, set_clock
from tests.conftest import post_video, signup_and_login

pytestmark = pytest.mark.browser

FAR = dt.datetime(2100, 1, 1, tzinfo=UTC)
NOON = dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(12), UTC)


def watch(
    client: TestClient, video: str, headers: dict[str, str], days_ago: int, times: int
) -> None:
    for i in range(times):
        set_clock(lambda d=days_ago, i=i: NOON - dt.timedelta(days=d, seconds=-i))
        response = client.post(
            f"/api/v1/videos/{video}/views",
            json={"watched_ms": 5000, "source": "for_you"},
            headers=headers,
        )
        assert response.status_code == 201, response.text


def test_the_trends_page_draws_the_apis_numbers(
    live_server: str, browser_page: Page, client: TestClient, database: Database, clip: Path
) -> None:
    page, base = browser_page, live_server
    _, lena = signup_and_login(client, "tb_lena", country="DE")
    _, omar = signup_and_login(client, "tb_omar", country="DE")
    _, viewer = signup_and_login(client, "tb_viewer", country="DE")
    set_clock(lambda: NOON - dt.timedelta(days=20))
    fast = post_video(client, lena, clip, caption="#browsertrend #dance")
    slow = post_video(client, omar, clip, caption="#browserslow #comedy")
    for days_ago in (3, 2, 1):
        watch(client, fast, viewer, days_ago, 8)
        watch(client, slow, viewer, days_ago, 7)
    watch(client, slow, viewer, 10, 4)
    set_clock(lambda: NOON - dt.timedelta(hours=1))  # searched today, whenever the test runs
    for _ in range(5):
        assert client.get("/api/v1/search", params={"q": "Pasta recipe"}).status_code == 200
    rollups.roll_all(database, until=FAR)

    set_clock(lambda: NOON)  # the page (served in this process) and the API read at one moment
    try:
        hashtags = client.get("/api/v1/trends/hashtags").json()["items"]
        sounds = client.get("/api/v1/trends/sounds").json()["items"]
        gaps = client.get("/api/v1/trends/searches").json()["items"]
        assert [h["key"] for h in hashtags][:2] == ["browsertrend", "dance"]
        assert {"browserslow", "comedy"} <= {h["key"] for h in hashtags}
        assert len(sounds) == 2 and gaps[0]["term"] == "pasta recipe"

        page.goto(f"{base}/trends")
        for kind, found in (("hashtag", hashtags), ("sound", sounds)):
            bars = page.locator(f"svg[data-chart='{kind}-growth'] rect.bar")
            expect(bars).to_have_count(len(found))
            for item in found:
                bar = page.locator(
                    f"svg[data-chart='{kind}-growth'] rect[data-label='{item['title']}']"
                )
                assert float(bar.get_attribute("data-value") or "nan") == item["growth"]
                points = page.locator(f"svg[data-chart='{kind}-{item['rank']}-plays'] circle.point")
                expect(points).to_have_count(len(item["series"]))
                assert [int(v) for v in points.evaluate_all(VALUES)] == [
                    p["plays"] for p in item["series"]
                ]
                assert points.evaluate_all(DAYS) == [p["day"] for p in item["series"]]
                card = page.locator(
                    f"[data-testid=trend-item][data-kind={kind}][data-key='{item['key']}']"
                )
                expect(card.locator("[data-testid=recent-daily]")).to_have_attribute(
                    "data-value", str(item["recent_daily_plays"])
                )
                expect(card.locator("[data-testid=baseline-daily]")).to_have_attribute(
                    "data-value", str(item["baseline_daily_plays"])
                )
        gap_bar = page.locator("svg[data-chart='search-gaps'] rect[data-label='pasta recipe']")
        assert int(gap_bar.get_attribute("data-value") or "0") == gaps[0]["searches"] == 5

        # Filters: comedy only, in Germany.
        page.select_option("[data-testid=country-filter]", "DE")
        page.select_option("[data-testid=topic-filter]", "comedy")
        page.locator("[data-testid=trend-filters] button").click()
        expect(page).to_have_url(f"{base}/trends?country=DE&topic=comedy")
        comedy = client.get("/api/v1/trends/hashtags?country=DE&topic=comedy").json()["items"]
        assert {h["key"] for h in comedy} == {"browserslow", "comedy"}
        cards = page.locator("[data-testid=rising-hashtags] [data-testid=trend-item]")
        expect(cards).to_have_count(2)
        assert cards.evaluate_all("els => els.map(e => e.dataset.key)") == [
            h["key"] for h in comedy
        ]
        assert cards.evaluate_all("els => els.map(e => Number(e.dataset.growth))") == [
            h["growth"] for h in comedy
        ]
    finally:
        set_clock(None)


VALUES = "els => els.map(e => e.getAttribute('data-value'))"
DAYS = "els => els.map(e => e.getAttribute('data-x'))"
