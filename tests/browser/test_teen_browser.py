"""Teen protections in a real browser: a 14-year-old's profile is private to strangers, their
video offers nobody else a duet, stitch or download (on its page and in the feed), and the break
screen takes over the feed once a 15-year-old's daily screen time is used up, until they enter
a passcode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.accounts import age_policy
from playback.db import Database
from playback.kit.time import utcnow
from tests.conftest import PASSWORD, post_video, signup_and_login
from tests.test_teen_protections import _watched as watched

pytestmark = pytest.mark.browser

Headers = dict[str, str]
SLIDES = "[data-testid=slide]"


def _log_in(page: Page, base: str, handle: str, then: str) -> None:
    """Log in through the login form, landing on ``then``."""
    page.goto(f"{base}/login?next={then}")
    form = page.locator("[data-testid=login-form]")
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}{then}")
    expect(page.locator("[data-testid=me-link]")).to_have_text(f"@{handle}")


@contextmanager
def _browser_of(page: Page, base: str, handle: str, then: str = "/settings") -> Iterator[Page]:
    """Another person's own browser (a fresh context: no cookies shared), logged in."""
    assert page.context.browser is not None
    context = page.context.browser.new_context(
        viewport=page.viewport_size, is_mobile=True, has_touch=True
    )
    try:
        theirs = context.new_page()
        theirs.set_default_timeout(10_000)
        _log_in(theirs, base, handle, then)
        yield theirs
    finally:
        context.close()


def _approve(client: TestClient, follower: Headers, handle: str, owner: Headers) -> None:
    """``follower`` asks to follow the private account ``handle``, which approves."""
    state = client.put(f"/api/v1/users/{handle}/follow", headers=follower).json()["status"]
    assert state == "pending"
    me = client.get("/api/v1/me", headers=follower).json()["handle"]
    assert client.put(f"/api/v1/me/follow-requests/{me}", headers=owner).status_code == 204


def test_a_14_year_olds_profile_is_private_and_their_video_offers_no_remix(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    kid, kid_headers = signup_and_login(client, "kid.private", age=14)
    assert kid["private"] is True
    kid_video = post_video(client, kid_headers, clip, caption="my first skate trick")
    _, grown = signup_and_login(client, "grown.maker", age=30)
    grown_video = post_video(client, grown, clip, caption="duet me if you can")
    _, fan = signup_and_login(client, "fan.approved", age=30)
    _approve(client, fan, "kid.private", kid_headers)
    assert client.put("/api/v1/users/grown.maker/follow", headers=fan).status_code == 200
    signup_and_login(client, "curious.stranger", age=30)

    # A stranger sees the lock and no videos; the video's own page is not found.
    _log_in(page, base, "curious.stranger", "/settings")
    page.goto(f"{base}/@kid.private")
    profile = page.locator("[data-testid=profile]")
    expect(profile.locator("h1.handle")).to_have_text("@kid.private")
    expect(profile).to_contain_text("🔒 This account is private.")
    expect(page.locator("[data-testid=grid-item]")).to_have_count(0)
    response = page.goto(f"{base}/v/{kid_video}")
    assert response is not None and response.status == 404
    expect(page.locator("[data-testid=video-page]")).to_have_count(0)

    with _browser_of(page, base, "fan.approved") as follower:
        # The approved follower sees the profile's video...
        follower.goto(f"{base}/@kid.private")
        expect(follower.locator("[data-testid=grid-item]")).to_have_count(1)
        expect(follower.locator("[data-testid=profile]")).not_to_contain_text("is private.")

        # ...and its page plays it, with no duet, stitch or download offered.
        follower.goto(f"{base}/v/{kid_video}")
        expect(follower.locator("[data-testid=player]")).to_be_visible()
        expect(follower.locator("[data-testid=caption]")).to_have_text("my first skate trick")
        for button in ("duet-button", "stitch-button", "download-button"):
            expect(follower.locator(f"[data-testid={button}]")).to_have_count(0)

        # An adult's video offers the same viewer all three.
        follower.goto(f"{base}/v/{grown_video}")
        expect(follower.locator("[data-testid=player]")).to_be_visible()
        for button in ("duet-button", "stitch-button", "download-button"):
            expect(follower.locator(f"[data-testid={button}]")).to_be_visible()

        # In the Following feed the slides say the same.
        follower.goto(f"{base}/following")
        kid_slide = follower.locator(f"{SLIDES}[data-video-id='{kid_video}']")
        grown_slide = follower.locator(f"{SLIDES}[data-video-id='{grown_video}']")
        expect(kid_slide).to_have_attribute("aria-label", "Video by @kid.private")
        expect(grown_slide).to_have_attribute("aria-label", "Video by @grown.maker")
        expect(follower.locator(SLIDES)).to_have_count(2)
        for button in ("duet-button", "stitch-button"):
            expect(kid_slide.locator(f"[data-testid={button}]")).to_be_hidden()
            expect(grown_slide.locator(f"[data-testid={button}]")).to_be_visible()


def _watched_today(database: Database, user_id: str, minutes: int, time_zone: str) -> None:
    """``minutes`` of watching reported a minute ago (never before the person's local
    midnight, so it counts as today's)."""
    now = utcnow()
    local = now.astimezone(age_policy.zone(time_zone))
    midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=local.tzinfo)
    at = max(now - dt.timedelta(minutes=1), midnight.astimezone(dt.UTC))
    watched(database, user_id, minutes, at)


def test_the_break_screen_appears_once_the_daily_limit_is_used_up(
    live_server: str, browser_page: Page, client: TestClient, clip: Path, database: Database
) -> None:
    page, base = browser_page, live_server
    _, maker = signup_and_login(client, "open.maker", age=30)
    video = post_video(client, maker, clip, caption="something to watch later")
    teen, teen_headers = signup_and_login(client, "break.teen", age=15, country="DE")
    me = client.get("/api/v1/me", headers=teen_headers).json()
    assert me["time_zone"] == "Europe/Berlin"

    _log_in(page, base, "break.teen", "/settings")
    _watched_today(database, teen["id"], 61, me["time_zone"])
    page.goto(f"{base}/")

    # The break screen instead of the feed: no slide, nothing plays.
    pause = page.locator("[data-testid=break-screen]")
    expect(pause).to_be_visible()
    expect(pause).to_contain_text("Time for a break")
    expect(pause).to_contain_text(
        "You've watched for 61 minutes today; your daily limit is 60 minutes."
    )
    expect(pause).to_contain_text("Choose a passcode")
    expect(page.locator(SLIDES)).to_have_count(0)
    expect(page.locator("[data-testid=feed-video]")).to_have_count(0)

    # Choosing a passcode lifts the break for today: the feed loads and plays.
    page.locator("[data-testid=break-passcode]").fill("4821")
    page.locator("[data-testid=break-unlock] button[type=submit]").click()
    expect(pause).to_be_hidden()
    slide = page.locator(f"{SLIDES}[data-video-id='{video}']")
    expect(slide).to_be_visible()
    page.wait_for_function(
        """() => {
            const v = document.querySelector('[data-testid=feed-video]');
            return v && !v.paused && v.currentTime > 0.2;
        }""",
        timeout=20_000,
    )
    screen = client.get("/api/v1/me/screen-time", headers=teen_headers).json()
    assert screen["unlocked_today"] is True and screen["has_passcode"] is True
