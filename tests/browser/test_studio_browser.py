"""The studio, a video's analytics and the platform insights in a real browser: each chart is
drawn, visible, and shows exactly the numbers the API returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.db import Database
from tests.browser.test_teen_browser import _log_in as log_in
from tests.conftest import login
from tests.test_studio import period

pytestmark = pytest.mark.browser


def drawn(page: Page, chart: str, selector: str, *attrs: str) -> list[tuple[str, ...]]:
    """The values a chart's elements carry, in document order."""
    svg = page.locator(f"svg[data-chart={chart}]")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 80
    return [tuple(el.get_attribute(a) or "" for a in attrs) for el in svg.locator(selector).all()]


def test_the_studio_and_a_videos_analytics_show_the_api_numbers(
    live_server: str, browser_page: Page, client: TestClient, world: dict[str, Any]
) -> None:
    page, base, h = browser_page, live_server, world["headers"]
    start, end = period(6)
    query = f"from={start}&to={end}"
    overview = client.get(f"/api/v1/studio/overview?{query}", headers=h).json()
    log_in(page, base, "studio_maya", "/studio")
    page.goto(f"{base}/studio?{query}")
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()
    views = drawn(page, "daily-views", "circle[data-series=views]", "data-x", "data-value")
    assert views == [(d["day"], str(d["views"])) for d in overview["daily"]]
    likes = drawn(page, "daily-engagement", "circle[data-series=likes]", "data-value")
    assert [int(v) for (v,) in likes] == [d["likes"] for d in overview["daily"]]
    for name in ("views", "unique-viewers", "likes", "followers"):
        tile = page.locator(f"[data-testid=total-{name}]")
        assert tile.get_attribute("data-value") == str(overview["totals"][name.replace("-", "_")])
    expect(page.locator("[data-testid=profile-total-likes]")).to_have_text(
        str(overview["total_likes"])
    )

    page.locator(f"tr[data-video-id='{world['long']}'] a").click()
    expect(page).to_have_url(f"{base}/studio/videos/{world['long']}?{query}")
    video = client.get(f"/api/v1/studio/videos/{world['long']}?{query}", headers=h).json()
    retention = drawn(page, "retention", "circle", "data-x", "data-value")
    assert [(x, float(v)) for x, v in retention] == [
        (f"{p['second']} s", p["share"]) for p in video["retention"]
    ]
    sources = drawn(page, "sources", "rect[data-label]", "data-label", "data-value")
    assert [(label, int(v)) for label, v in sources] == [
        (s["source"].replace("_", " "), s["plays"]) for s in video["sources"]
    ]
    hourly = drawn(page, "video-views", "circle", "data-value")
    assert [int(v) for (v,) in hourly] == [x["views"] for x in video["hourly"]]
    completion = page.locator("[data-testid=video-completion]")
    assert float(completion.get_attribute("data-value") or "nan") == video["completion_rate"]

    page.locator("[data-testid=studio-audience-link]").click()
    audience = client.get(f"/api/v1/studio/audience?{query}", headers=h).json()
    ages = drawn(page, "age-bands", "rect[data-label]", "data-label", "data-value")
    assert [(a, int(v)) for a, v in ages] == [(x["key"], x["plays"]) for x in audience["age_bands"]]


def test_the_platform_insights_page_shows_the_api_numbers(
    live_server: str,
    browser_page: Page,
    client: TestClient,
    database: Database,
    world: dict[str, Any],
) -> None:
    page, base = browser_page, live_server
    with database.unit_of_work() as db:
        db.execute(sa.text("UPDATE users SET role = 'admin' WHERE handle = 'studio_leo'"))
    admin = login(client, "studio_leo")
    end = dt.datetime.now(dt.UTC).date()
    start = end - dt.timedelta(days=13)
    query = f"from={start}&to={end}"
    body = client.get(f"/api/v1/insights?{query}", headers=admin).json()
    log_in(page, base, "studio_leo", "/insights")
    page.goto(f"{base}/insights?{query}")
    expect(page.get_by_role("heading", name="Platform insights")).to_be_visible()
    dau = drawn(page, "dau", "circle", "data-x", "data-value")
    assert dau == [(d["day"], str(d["active"])) for d in body["active_users"]["daily"]]
    assert sum(int(v) for _, v in dau) > 0
    mau = drawn(page, "mau", "rect[data-label]", "data-label", "data-value")
    assert mau == [(m["month"], str(m["active"])) for m in body["active_users"]["monthly"]]
    expect(page.locator("[data-testid=signups-total]")).to_have_attribute(
        "data-value", str(body["signups"]["total"])
    )
    expect(page.locator("[data-testid=forecast-unavailable]")).to_contain_text("series_")
