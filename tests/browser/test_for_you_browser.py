"""For You learns from a session of swipes in a real browser: watching cat videos to the end
and swiping past car videos at once makes the next feed lead with cats; "Not interested" takes a
video away and moves on."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.db import Database
from tests import media_corpus
from tests.browser.test_feed_browser import VIDEOS, _log_in, _post_video
from tests.conftest import signup_and_login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("for-you-clips")
    return media_corpus.make_clip(directory, width=180, height=320, seconds=1.5, fps=24)


def _world(client: TestClient, clip: Path) -> tuple[set[str], set[str]]:
    cats: set[str] = set()
    cars: set[str] = set()
    for i in range(4):
        _, cat = signup_and_login(client, f"cat.lover{i}")
        _, car = signup_and_login(client, f"car.fan{i}")
        for _ in range(3):
            cats.add(_post_video(client, cat, clip, "#cats"))
            cars.add(_post_video(client, car, clip, "#cars"))
    return cats, cars


def _current_id(page: Page, index: int) -> str:
    value = page.locator("[data-testid=slide]").nth(index).get_attribute("data-video-id")
    assert value
    return value


def test_for_you_learns_from_a_session_of_swipes(
    live_server: str, browser_page: Page, client: TestClient, database: Database, short_clip: Path
) -> None:
    cats, cars = _world(client, short_clip)
    signup_and_login(client, "swiper")
    page, base = browser_page, live_server
    _log_in(page, base, "swiper")
    page.wait_for_selector(VIDEOS)
    # Swipe through the first page: watch cats to the end (and beyond), skip cars at once.
    seen: list[str] = []
    for index in range(8):
        video_id = _current_id(page, index)
        seen.append(video_id)
        if video_id in cats:
            page.wait_for_function(
                f"() => document.querySelectorAll('{VIDEOS}')[{index}].currentTime > 1.2",
                timeout=20_000,
            )
            page.wait_for_timeout(400)  # into the loop: a replay
        else:
            page.wait_for_timeout(150)
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(300)
    assert {v for v in seen if v in cats} and {v for v in seen if v in cars}
    page.wait_for_timeout(1000)  # the last watch event is sent as the viewer moves on
    # A fresh feed now leads with cats.
    page.goto(f"{base}/")
    page.wait_for_selector(VIDEOS)
    first = [_current_id(page, i) for i in range(min(3, page.locator(VIDEOS).count()))]
    assert first and all(v in cats for v in first), (first, seen)
    reasons = page.locator("[data-testid=reasons]").first
    expect(reasons).to_be_visible()


def test_not_interested_takes_the_video_away(
    live_server: str, browser_page: Page, client: TestClient, short_clip: Path
) -> None:
    cats, cars = _world(client, short_clip)
    signup_and_login(client, "picky")
    page, base = browser_page, live_server
    _log_in(page, base, "picky")
    page.wait_for_selector(VIDEOS)
    unwanted = _current_id(page, 0)
    button = page.locator("[data-testid=not-interested]").first
    button.click()
    expect(button).to_have_text("Got it: fewer videos like this")
    page.wait_for_function(
        f"() => {{ const v = document.querySelectorAll('{VIDEOS}')[1]; return v && !v.paused; }}",
        timeout=20_000,
    )
    page.goto(f"{base}/")
    page.wait_for_selector(VIDEOS)
    ids = [_current_id(page, i) for i in range(page.locator(VIDEOS).count())]
    assert unwanted not in ids
    assert set(ids) <= cats | cars
