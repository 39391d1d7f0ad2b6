"""Posting a video in a real browser: the upload page shows progress, then processing, then a
player that plays and seeks; the video page plays it too."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import media_corpus
from tests.conftest import PASSWORD, signup

pytestmark = pytest.mark.browser

PHONE_CLIP = media_corpus.SHARED_VIDEO_DIR / "derived_bbb_vertical_360x640_6s.mp4"


def _log_in(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/login?next=/upload")
    form = page.locator("[data-testid=login-form]")
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/upload")


def _plays_and_seeks(page: Page, selector: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('{selector}').readyState >= 1", timeout=20_000
    )
    duration = page.evaluate(f"() => document.querySelector('{selector}').duration")
    assert duration > 1.5
    play = "v => { v.muted = true; return v.play(); }"
    page.locator(selector).evaluate(play)
    page.wait_for_function(
        f"() => document.querySelector('{selector}').currentTime > 0.3", timeout=20_000
    )
    target = round(duration * 0.6, 2)
    page.evaluate(
        f"""() => new Promise((resolve) => {{
            const v = document.querySelector('{selector}');
            v.pause();
            v.addEventListener('seeked', () => resolve(v.currentTime), {{ once: true }});
            v.currentTime = {target};
        }})"""
    )
    now = page.evaluate(f"() => document.querySelector('{selector}').currentTime")
    assert abs(now - target) < 0.5
    assert page.evaluate(f"() => document.querySelector('{selector}').error") is None


def test_upload_page_to_a_playing_video(
    live_server: str, browser_page: Page, client_for_live: object, tmp_path: Path
) -> None:
    page, base = browser_page, live_server
    source = (
        PHONE_CLIP
        if PHONE_CLIP.exists()
        else media_corpus.make_clip(
            tmp_path,
            width=720,
            height=1280,
            seconds=3,
            fps=30,
            codec="libvpx-vp9",
            container="webm",
        )
    )
    _log_in(page, base, "maya")

    page.set_input_files("[data-testid=file-input]", str(source))
    page.fill("textarea[name=caption]", "Sunday vibes #bunny @maya")
    page.click("[data-testid=upload-submit]")
    expect(page.locator("[data-testid=upload-progress]")).to_be_visible()
    expect(page.locator("[data-testid=ready]")).to_be_visible(timeout=60_000)
    assert page.locator("[data-testid=upload-bar]").evaluate("bar => bar.value") == 100
    _plays_and_seeks(page, "[data-testid=ready-player]")

    page.click("[data-role=view]")
    expect(page.locator("[data-testid=video-page]")).to_have_attribute("data-status", "ready")
    expect(page.locator("[data-testid=caption]")).to_contain_text("Sunday vibes #bunny")
    _plays_and_seeks(page, "[data-testid=player]")

    page.goto(f"{base}/@maya")
    expect(page.locator("[data-testid=grid-item]")).to_have_count(1)


def test_bad_file_shows_its_error(
    live_server: str, browser_page: Page, client_for_live: object, tmp_path: Path
) -> None:
    page, base = browser_page, live_server
    bad = media_corpus.make_png_as_mp4(tmp_path)
    _log_in(page, base, "maya")
    page.set_input_files("[data-testid=file-input]", str(bad))
    page.click("[data-testid=upload-submit]")
    error = page.locator("[data-testid=upload-error]")
    expect(error).to_be_visible(timeout=20_000)
    expect(error).to_contain_text("MP4")


@pytest.fixture
def client_for_live(client: object) -> object:
    """The demo creator the browser logs in as."""
    signup(client, "maya")  # type: ignore[arg-type]
    return client


def _every_clip(tmp_path: Path) -> list[Path]:
    phone = media_corpus.make_clip(
        tmp_path, width=1080, height=1920, seconds=2, fps=30, codec="libvpx-vp9", container="webm"
    )
    return [phone, *media_corpus.shared_videos()]


def test_real_clips_play_and_seek_in_chromium(
    live_server: str, browser_page: Page, client_for_live: object, tmp_path: Path
) -> None:
    """Every real clip in ../shared/media (when present) and a phone recording, uploaded through
    the API, plays and seeks on its video page."""
    from fastapi.testclient import TestClient

    from tests.conftest import login

    client = client_for_live
    assert isinstance(client, TestClient)
    headers = login(client, "maya")
    page, base = browser_page, live_server
    for clip in _every_clip(tmp_path):
        response = client.post(
            "/api/v1/videos",
            files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
            headers=headers,
        )
        assert response.status_code == 202, (clip.name, response.text)
        page.goto(f"{base}/v/{response.json()['id']}")
        expect(page.locator("[data-testid=video-page]")).to_have_attribute("data-status", "ready")
        _plays_and_seeks(page, "[data-testid=player]")
