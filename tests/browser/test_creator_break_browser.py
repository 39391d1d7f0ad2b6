"""A healthy creator rhythm in a real browser: a creator takes a break from the settings page and
a follower finds the calm note on their profile; a viewer sees the heart without a number on a
video whose creator hides like counts, and their like still goes in."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.accounts import age_policy
from playback.db import Database
from playback.engagement.models import Like
from tests.browser.test_teen_browser import _browser_of, _log_in
from tests.conftest import post_video, signup_and_login

pytestmark = pytest.mark.browser


def test_a_creator_takes_a_break_and_a_follower_sees_it_on_the_profile(
    live_server: str, browser_page: Page, client: TestClient
) -> None:
    page, base = browser_page, live_server
    signup_and_login(client, "maya")  # in Germany: Europe/Berlin
    _, fan = signup_and_login(client, "fan")
    assert client.put("/api/v1/users/maya/follow", headers=fan).status_code == 200
    last_day = dt.datetime.now(age_policy.zone("Europe/Berlin")).date() + dt.timedelta(days=7)

    _log_in(page, base, "maya", "/settings")
    section = page.locator("[data-testid=take-a-break]")
    expect(section.locator("[data-testid=end-break]")).to_have_count(0)
    form = section.locator("[data-testid=break-form]")
    form.locator("input[name=until]").fill(last_day.isoformat())
    form.locator("input[name=message]").fill("Recharging, back with new dances")
    form.locator("[data-testid=start-break]").click()
    expect(page).to_have_url(f"{base}/settings?saved=1")
    until_text = f"{last_day.day} {last_day.strftime('%B %Y')}"
    expect(section.locator("[data-testid=break-status]")).to_contain_text(
        f"You are taking a break until {until_text}."
    )

    with _browser_of(page, base, "fan", then="/settings") as follower:
        follower.goto(f"{base}/@maya")
        banner = follower.locator("[data-testid=break-banner]")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(f"@maya is taking a break until {until_text}.")
        expect(banner.locator("[data-testid=break-message]")).to_have_text(
            "“Recharging, back with new dances”"
        )

        # Back early: the banner goes.
        section.locator("[data-testid=end-break]").click()
        expect(page).to_have_url(f"{base}/settings?saved=1")
        expect(section.locator("[data-testid=end-break]")).to_have_count(0)
        follower.goto(f"{base}/@maya")
        expect(follower.locator("[data-testid=profile]")).to_be_visible()
        expect(follower.locator("[data-testid=break-banner]")).to_have_count(0)


def test_a_viewer_sees_no_like_number_on_a_hidden_likes_creators_video(
    live_server: str, browser_page: Page, client: TestClient, database: Database, clip: Path
) -> None:
    page, base = browser_page, live_server
    _, zoe = signup_and_login(client, "zoe")
    video = post_video(client, zoe, clip, caption="counting nothing")
    _, early = signup_and_login(client, "early.fan")
    assert client.put(f"/api/v1/videos/{video}/like", headers=early).status_code == 200
    response = client.patch("/api/v1/me", json={"hide_like_counts": True}, headers=zoe)
    assert response.status_code == 200
    signup_and_login(client, "viewer")

    _log_in(page, base, "viewer", "/")
    slide = page.locator(f"[data-testid=slide][data-video-id='{video}']")
    like = slide.locator("[data-testid=like-button]")
    expect(like).to_have_attribute("aria-label", "Like")
    expect(slide.locator("[data-testid=like-count]")).to_have_text("")
    expect(slide.locator("[data-testid=comment-count]")).to_have_text("0")  # others stay

    # The heart still likes; still no number.
    with page.expect_response(
        lambda r: r.url.endswith("/like") and r.request.method == "PUT"
    ) as liked:
        like.click()
    assert liked.value.status == 200
    assert liked.value.json() == {"liked": True, "like_count": None, "likes_hidden": True}
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(slide.locator("[data-testid=like-count]")).to_have_text("")
    with database.engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(Like).where(Like.video_id == uuid.UUID(video))
        ).scalar_one()
    assert count == 2
    assert client.get(f"/api/v1/videos/{video}", headers=zoe).json()["stats"]["likes"] == 2

    # The video's own page: a heart, no number.
    page.goto(f"{base}/v/{video}")
    count_el = page.locator("[data-testid=like-count]")
    expect(count_el).to_have_text("♥")
    expect(count_el).to_have_attribute("data-hidden", "true")
