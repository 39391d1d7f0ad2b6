"""Sounds and the recorder in a real browser: a sound's page leads to the recorder, which records
Chromium's fake camera while the sound plays from the chosen offset; the posted video carries the
track at that offset. Duet and Stitch buttons show only where the original allows them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.config import Settings
from playback.db import Database
from playback.storage import create_storage
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE_VIEWPORT
from tests.conftest import (
    PASSWORD,
    login,
    post_video,
    signup,
    signup_and_login,
    skip_unless_required,
)
from tests.sound_helpers import add_track, audio_of, best_lag_seconds, clip_with_audio, music_file

if TYPE_CHECKING:
    from playback.media.models import Video

pytestmark = pytest.mark.browser

# A camera and a microphone that need no permission prompt, and sound that may start on its own.
# The fake camera runs at 15 fps: encoding its frames is most of what a recording costs here.
FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream=fps=15",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
OFFSET_S = 5.0
RECORD_S = 3.0


@pytest.fixture
def recorder_page() -> Iterator[Page]:
    """A phone-sized Chromium page whose camera and microphone are Chromium's fakes."""
    if not CHROMIUM.exists():
        skip_unless_required(f"{CHROMIUM} not found: install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS + FAKE_MEDIA_ARGS
        )
        try:
            context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
            try:
                page = context.new_page()
                page.set_default_timeout(15_000)
                yield page
            finally:
                context.close()
        finally:
            browser.close()


def _log_in(page: Page, base: str, handle: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    form = page.locator("[data-testid=login-form]")
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}{next_path}")


def _video_row(database: Database, video_id: str) -> Video:
    from playback.media.models import Video

    with database.unit_of_work(write=False) as db:
        video = db.get(Video, uuid.UUID(video_id))
        assert video is not None
        db.expunge(video)
        return video


def _post_and_open(page: Page) -> str:
    """Post the take under review; returns the new video's id once its page is open."""
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/videos") and r.request.method == "POST", timeout=120_000
    ) as posted:
        page.locator("[data-testid=post-button]").click()
    assert posted.value.status == 202
    # The page moves on as soon as the video is ready: its address names it.
    page.wait_for_url(re.compile(r"/v/[0-9a-f-]{36}$"), timeout=60_000)
    video_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-testid=video-page]")).to_have_attribute("data-status", "ready")
    return video_id


def test_recording_to_a_sound_lays_the_track_at_the_chosen_offset(
    live_server: str,
    recorder_page: Page,
    client: TestClient,
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    page, base = recorder_page, live_server
    signup(client, "maya")
    sound_id = add_track(database, settings, music_file(tmp_path))
    _log_in(page, base, "maya", f"/sounds/{sound_id}")

    expect(page.locator("[data-testid=sound-title]")).to_have_text("Viper")
    expect(page.locator("[data-testid=sound-use-count]")).to_have_text("0 videos")
    page.locator("[data-testid=use-sound]").click()
    expect(page).to_have_url(f"{base}/record?sound={sound_id}")
    expect(page.locator("[data-testid=rec-sound-title]")).to_have_text("Viper")

    # Start the sound 5 s in; the camera comes on by itself (the fake one).
    page.locator("[data-testid=offset-slider]").fill(str(int(OFFSET_S * 1000)))
    expect(page.locator("[data-testid=offset-value]")).to_have_text("0:05.0")
    record = page.locator("[data-testid=record-button]")
    expect(record).to_be_enabled()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=camera-preview]').videoWidth > 0"
    )

    # 3-2-1, then record about three seconds while the sound plays.
    record.click()
    expect(page.locator("[data-testid=countdown]")).to_be_visible()
    recorder = page.locator("[data-testid=recorder]")
    expect(recorder).to_have_attribute("data-state", "recording", timeout=10_000)
    expect(page.locator("[data-testid=record-progress]")).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=sound-audio]').paused", timeout=5_000
    )
    page.wait_for_timeout(RECORD_S * 1000)
    page.locator("[data-testid=stop-button]").click()

    expect(recorder).to_have_attribute("data-state", "review")
    expect(page.locator("[data-testid=post-form]")).to_be_visible()
    expect(page.locator("[data-testid=keep-voice]")).not_to_be_checked()
    measured = int(recorder.get_attribute("data-offset-ms") or "-1")
    assert abs(measured / 1000 - OFFSET_S) <= 0.25, measured

    page.locator("[data-testid=caption-input]").fill("Lip-sync take #viper")
    video_id = _post_and_open(page)
    credit = page.locator("[data-testid=sound-credit]")
    expect(credit).to_have_text(re.compile(r"Viper · Playback Test Band"))
    expect(credit).to_have_attribute("href", f"/sounds/{sound_id}")

    video = _video_row(database, video_id)
    assert str(video.sound_id) == str(sound_id)
    assert video.sound_offset_ms == measured  # what the recorder measured is what was sent
    assert video.clip_volume == 0  # the sound replaces the microphone
    assert 2.0 <= (video.duration_ms or 0) / 1000 <= 5.0

    # The posted file, fetched as the browser plays it, against the stored licensed track.
    src = page.locator("[data-testid=player]").get_attribute("src")
    assert src
    response = page.request.get(f"{base}{src}" if src.startswith("/") else src)
    assert response.ok
    posted_file = tmp_path / "posted.mp4"
    posted_file.write_bytes(response.body())
    track = tmp_path / "track.m4a"
    create_storage(settings).fetch_to(f"sounds/{sound_id}/audio.m4a", track)

    heard = audio_of(posted_file)
    lag, likeness = best_lag_seconds(audio_of(track), heard[: int(len(heard) * 0.9)])
    assert abs(lag - OFFSET_S) <= 0.25, (lag, measured)
    assert abs(lag - measured / 1000) <= 0.1, (lag, measured)
    assert likeness > 0.8, likeness

    # The sound's page counts the new video and shows it.
    page.goto(f"{base}/sounds/{sound_id}")
    expect(page.locator("[data-testid=sound-use-count]")).to_have_text("1 video")
    expect(page.locator("[data-testid=grid-item]")).to_have_count(1)
    expect(page.locator("[data-testid=grid-item]").first).to_have_attribute(
        "href", f"/v/{video_id}"
    )


def _view(client: TestClient, headers: dict[str, str], video_id: str) -> None:
    response = client.post(
        f"/api/v1/videos/{video_id}/views",
        json={"watched_ms": 1_000, "source": "for_you"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["counted"] is True


def test_sound_page_counts_uses_and_views_and_links_them(
    live_server: str,
    browser_page: Page,
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playback.engagement import counters
    from playback.sounds import cards as sound_cards

    # One video a page, so two videos make two pages (the page and the API walk the same).
    monkeypatch.setattr(sound_cards, "VIDEO_PAGE_SIZE", 1)
    page, base = browser_page, live_server
    sound_id = add_track(database, settings, music_file(tmp_path))
    _maya, maya = signup_and_login(client, "maya")
    fields = {"sound_id": str(sound_id), "sound_offset_ms": "2000"}
    quiet = post_video(client, maya, clip, caption="first", **fields)
    watched = post_video(client, maya, clip, caption="second", **fields)
    for handle in ("sam", "leo"):
        _view(client, signup_and_login(client, handle)[1], watched)
    _view(client, login(client, "sam"), quiet)
    with database.unit_of_work() as db:
        counters.flush(db)

    page.goto(f"{base}/sounds/{sound_id}")
    expect(page.locator("[data-testid=sound-title]")).to_have_text("Viper")
    expect(page.locator("[data-testid=sound-artist]")).to_have_text("Playback Test Band")
    expect(page.locator("[data-testid=sound-label]")).to_contain_text("℗ Test Records")
    expect(page.locator("[data-testid=sound-use-count]")).to_have_text("2 videos")
    expect(page.locator("[data-testid=sound-views]")).to_have_text("3 views")
    expect(page.locator("[data-testid=sound-duration]")).to_have_text(re.compile(r"^\d:\d\d$"))
    # Logged out: no preview, and "Use this sound" asks to log in first.
    expect(page.locator("[data-testid=sound-preview]")).to_have_count(0)
    expect(page.locator("[data-testid=use-sound-login]")).to_have_attribute(
        "href", f"/login?next=/sounds/{sound_id}"
    )

    # Most viewed first; "load more" brings the next page in place.
    items = page.locator("[data-testid=grid-item]")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("href", f"/v/{watched}")
    page.locator("[data-testid=load-more]").click()
    expect(items).to_have_count(2)
    expect(items.nth(1)).to_have_attribute("href", f"/v/{quiet}")
    expect(page.locator("[data-testid=load-more]")).to_have_count(0)

    # A video credits the sound and links back to it.
    items.first.click()
    expect(page).to_have_url(f"{base}/v/{watched}")
    page.locator("[data-testid=sound-credit]").click()
    expect(page).to_have_url(f"{base}/sounds/{sound_id}")

    # Logged in, the sound can be previewed and used; search finds it from Discover.
    _log_in(page, base, "sam", f"/sounds/{sound_id}")
    expect(page.locator("[data-testid=sound-preview]")).to_have_attribute(
        "src", re.compile(r"/media/sounds/")
    )
    expect(page.locator("[data-testid=use-sound]")).to_have_attribute(
        "href", f"/record?sound={sound_id}"
    )
    page.goto(f"{base}/search")
    page.locator("[data-testid=sounds-link]").click()
    expect(page).to_have_url(f"{base}/sounds")
    page.locator("[data-testid=sound-search]").fill("viper")
    page.locator("[data-testid=sound-search]").press("Enter")
    rows = page.locator("[data-testid=sound-row]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2 videos")
    rows.first.click()
    expect(page).to_have_url(f"{base}/sounds/{sound_id}")


def test_sound_unavailable_in_the_viewers_country(
    live_server: str,
    browser_page: Page,
    client: TestClient,
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    page, base = browser_page, live_server
    sound_id = add_track(database, settings, music_file(tmp_path), territories="FR")
    signup(client, "maya", country="DE")
    _log_in(page, base, "maya", f"/sounds/{sound_id}")
    expect(page.locator("[data-testid=sound-unavailable]")).to_have_text(
        "This sound is not available in your country right now."
    )
    expect(page.locator("[data-testid=use-sound]")).to_have_count(0)
    page.goto(f"{base}/record?sound={sound_id}")
    expect(page.locator("[data-testid=record-blocked]")).to_be_visible()
    expect(page.locator("[data-testid=record-button]")).to_have_count(0)


def _card(client: TestClient, video_id: str) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/api/v1/videos/{video_id}").json()
    return data


def test_duet_and_stitch_buttons_follow_what_the_original_allows(
    live_server: str, recorder_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = recorder_page, live_server
    _maya, maya = signup_and_login(client, "maya")
    open_video = post_video(client, maya, clip, caption="duet me")
    closed = post_video(client, maya, clip, caption="just watch", allow_duet="false")
    assert _card(client, open_video)["allow_duet"] is True
    assert _card(client, closed)["allow_duet"] is False
    signup(client, "sam")
    _log_in(page, base, "sam", f"/v/{closed}")

    expect(page.locator("[data-testid=duet-button]")).to_have_count(0)
    expect(page.locator("[data-testid=stitch-button]")).to_have_attribute(
        "href", f"/record?stitch={closed}"
    )
    page.goto(f"{base}/record?duet={closed}")
    expect(page.locator("[data-testid=record-blocked]")).to_contain_text("doesn't allow duets")

    # In the feed too: the rail offers a duet only where it is allowed.
    page.goto(f"{base}/")
    slides = page.locator("[data-testid=slide]")
    expect(slides).to_have_count(2)
    for i in range(2):
        slide = slides.nth(i)
        allowed = slide.get_attribute("data-video-id") == open_video
        duet = slide.locator("[data-testid=duet-button]")
        if allowed:
            expect(duet).to_have_attribute("href", f"/record?duet={open_video}")
            expect(duet).to_have_accessible_name("Duet with @maya")
        else:
            expect(duet).to_be_hidden()
        expect(slide.locator("[data-testid=stitch-button]")).to_have_attribute(
            "href", f"/record?stitch={slide.get_attribute('data-video-id')}"
        )

    page.goto(f"{base}/v/{open_video}")
    page.locator("[data-testid=duet-button]").click()
    expect(page).to_have_url(f"{base}/record?duet={open_video}")
    expect(page.locator("[data-testid=rec-original-link]")).to_have_text("@maya")
    expect(page.locator("[data-testid=original-video]")).to_be_visible()
    expect(page.locator("[data-testid=record-button]")).to_be_enabled()
    expect(page.locator("[data-testid=keep-voice]")).to_be_checked()


def test_the_recorder_asks_to_log_in(live_server: str, browser_page: Page) -> None:
    page, base = browser_page, live_server
    page.goto(f"{base}/record?sound={uuid.uuid4()}")
    expect(page).to_have_url(re.compile(r"/login\?next=/record%3Fsound%3D"))
    expect(page.locator("[data-testid=login-form] input[name=next]")).to_have_value(
        re.compile(r"^/record\?sound=")
    )


def test_a_duet_recorded_beside_the_original_stops_with_it(
    live_server: str,
    recorder_page: Page,
    client: TestClient,
    database: Database,
    tmp_path: Path,
) -> None:
    page, base = recorder_page, live_server
    _maya, maya = signup_and_login(client, "maya")
    # Long enough that a take made on a busy machine still lasts the minimum second.
    clip = clip_with_audio(tmp_path, music_file(tmp_path, seconds=5.0), seconds=3.0)
    original = post_video(client, maya, clip, caption="duet me")
    signup(client, "sam")
    _log_in(page, base, "sam", f"/record?duet={original}")

    # The original is 3 s long: the recording stops by itself when it ends.
    expect(page.locator("[data-testid=record-limit]")).to_have_text("Up to 3 s")
    page.locator("[data-testid=record-button]").click()
    recorder = page.locator("[data-testid=recorder]")
    expect(recorder).to_have_attribute("data-state", "recording", timeout=10_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=original-video]').paused", timeout=5_000
    )
    expect(recorder).to_have_attribute("data-state", "review", timeout=10_000)
    video_id = _post_and_open(page)

    remix = page.locator("[data-testid=remix-link]")
    expect(remix).to_have_text("Duet with @maya")
    expect(remix).to_have_attribute("href", f"/v/{original}")
    video = _video_row(database, video_id)
    assert (video.remix_kind, str(video.remix_of_id)) == ("duet", original)


def test_a_stitch_plays_the_chosen_part_then_records(
    live_server: str, recorder_page: Page, client: TestClient, clip: Path, database: Database
) -> None:
    page, base = recorder_page, live_server
    _maya, maya = signup_and_login(client, "maya")
    original = post_video(client, maya, clip, caption="stitch me")
    signup(client, "sam")
    _log_in(page, base, "sam", f"/record?stitch={original}")

    page.locator("[data-testid=stitch-length]").fill("1000")
    expect(page.locator("[data-testid=stitch-length-value]")).to_have_text("1.0 s")
    page.locator("[data-testid=record-button]").click()
    recorder = page.locator("[data-testid=recorder]")
    expect(recorder).to_have_attribute("data-state", "intro", timeout=10_000)
    expect(page.locator("[data-testid=original-video]")).to_be_visible()
    expect(recorder).to_have_attribute("data-state", "recording", timeout=10_000)
    expect(page.locator("[data-testid=original-video]")).to_be_hidden()
    stop = page.locator("[data-testid=stop-button]")
    expect(stop).to_be_enabled(timeout=5_000)  # a take lasts at least a second
    page.wait_for_timeout(500)
    stop.click()
    expect(recorder).to_have_attribute("data-state", "review")
    video_id = _post_and_open(page)

    expect(page.locator("[data-testid=remix-link]")).to_have_text("Stitched from @maya")
    video = _video_row(database, video_id)
    assert (video.remix_kind, video.remix_start_ms, video.remix_ms) == ("stitch", 0, 1000)


def test_uploading_a_clip_instead_keeps_the_sound_and_shows_api_errors(
    live_server: str,
    recorder_page: Page,
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Path,
    tmp_path: Path,
) -> None:
    page, base = recorder_page, live_server
    music = music_file(tmp_path)
    short = add_track(database, settings, music, title="Short Licence", max_clip_ms=1_000)
    sound_id = add_track(database, settings, music, title="Long Licence", isrc="GBTST2600001")
    signup(client, "maya")

    # The licence allows one second; the clip is 1.5 s: the API's message is shown.
    _log_in(page, base, "maya", f"/record?sound={short}")
    page.locator("[data-testid=upload-instead] summary").click()
    page.set_input_files("[data-testid=clip-input]", str(clip))
    expect(page.locator("[data-testid=post-form]")).to_be_visible()
    page.locator("[data-testid=post-button]").click()
    error = page.locator("[data-testid=record-error]")
    expect(error).to_have_text("With this sound a video is at most 1 seconds long.")
    expect(page.locator("[data-testid=post-form]")).to_be_visible()

    # Another sound, started 2 s in; the uploaded clip's offset is the slider's.
    page.goto(f"{base}/record?sound={sound_id}")
    page.locator("[data-testid=upload-instead] summary").click()
    page.set_input_files("[data-testid=clip-input]", str(clip))
    page.locator("[data-testid=offset-slider]").fill("2000")
    page.locator("[data-testid=keep-voice]").check()
    page.locator("[data-testid=voice-volume]").fill("40")
    video_id = _post_and_open(page)

    video = _video_row(database, video_id)
    assert (str(video.sound_id), video.sound_offset_ms, video.clip_volume) == (
        str(sound_id),
        2_000,
        40,
    )


def test_a_creator_keeps_their_original_sound_to_themselves(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    _maya, maya = signup_and_login(client, "maya")
    video_id = post_video(client, maya, clip, caption="my own sound")
    sound = _card(client, video_id)["sound"]
    assert sound is not None
    signup(client, "sam")

    # Her video credits its original sound, in the feed and on its page.
    page.goto(f"{base}/")
    credit = page.locator("[data-testid=slide]").first.locator("[data-testid=sound-credit]")
    expect(credit).to_have_text("original sound – @maya")
    expect(credit).to_have_attribute("href", f"/sounds/{sound['id']}")

    _log_in(page, base, "maya", f"/v/{video_id}")
    page.locator("[data-testid=sound-credit]").click()
    expect(page).to_have_url(f"{base}/sounds/{sound['id']}")
    expect(page.locator("[data-testid=sound-origin-link]")).to_have_attribute("href", "/@maya")
    expect(page.locator("[data-testid=sound-origin-video]")).to_have_attribute(
        "href", f"/v/{video_id}"
    )
    reuse = page.locator("[data-testid=sound-reuse]")
    expect(reuse).to_be_checked()
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        reuse.uncheck()
    assert patched.value.status == 200
    assert client.get(f"/api/v1/sounds/{sound['id']}").json()["reuse_allowed"] is False

    # Others are told why they cannot use it.
    page.context.clear_cookies()
    _log_in(page, base, "sam", f"/sounds/{sound['id']}")
    expect(page.locator("[data-testid=sound-unavailable]")).to_have_text(
        "Its creator doesn't let others use this sound."
    )
