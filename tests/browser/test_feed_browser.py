"""The home feed in a real browser: swiping plays one video at a time, double-tap likes, the rail
follows and comments, profiles add up their likes, watch time is reported as people watch, and
logged-out visitors see For You."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from playback.db import Database
from tests import media_corpus
from tests.conftest import PASSWORD, login, signup, signup_and_login

pytestmark = pytest.mark.browser

VIDEOS = "[data-testid=feed-video]"
Headers = dict[str, str]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short phone-shaped clip, uploaded as many times as a test needs."""
    directory = tmp_path_factory.mktemp("feed-clips")
    return media_corpus.make_clip(directory, width=360, height=640, seconds=2, fps=24)


def _post_video(client: TestClient, headers: Headers, clip: Path, caption: str) -> str:
    response = client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
        data={"caption": caption},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    video_id: str = response.json()["id"]
    video = client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
    assert video["status"] == "ready", video
    return video_id


def _creator(client: TestClient, clip: Path, count: int, handle: str = "maya") -> list[str]:
    _user, headers = signup_and_login(client, handle)
    return [
        _post_video(client, headers, clip, f"Take {i + 1} with @{handle} #sunset")
        for i in range(count)
    ]


def _log_in(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/login?next=/")
    form = page.locator("[data-testid=login-form]")
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


def _video(client: TestClient, video_id: str, headers: Headers | None = None) -> dict[str, Any]:
    response = client.get(f"/api/v1/videos/{video_id}", headers=headers or {})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _playing(page: Page, index: int) -> None:
    page.wait_for_function(
        f"""() => {{
            const v = document.querySelectorAll('{VIDEOS}')[{index}];
            return v && !v.paused && v.currentTime > 0.2;
        }}""",
        timeout=20_000,
    )


def _paused(page: Page, index: int) -> bool:
    paused: bool = page.evaluate(f"() => document.querySelectorAll('{VIDEOS}')[{index}].paused")
    return paused


def test_swiping_plays_the_next_video_and_pauses_the_last(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    _creator(client, clip, 2)
    signup_and_login(client, "sam")
    _log_in(page, base, "sam")

    slides = page.locator("[data-testid=slide]")
    expect(slides).to_have_count(2)
    _playing(page, 0)
    assert page.evaluate(f"() => document.querySelectorAll('{VIDEOS}')[0].muted") is True

    # A tap pauses (with a play icon), another resumes.
    slides.nth(0).locator("[data-role=stage]").click()
    page.wait_for_function(f"() => document.querySelectorAll('{VIDEOS}')[0].paused")
    expect(slides.nth(0)).to_have_class(re.compile(r"\bis-paused\b"))
    expect(slides.nth(0).locator("[data-testid=paused-icon]")).to_be_visible()
    slides.nth(0).locator("[data-role=stage]").click()
    _playing(page, 0)

    # Swipe (keyboard down, as on desktop): the second plays, the first is paused.
    page.keyboard.press("ArrowDown")
    _playing(page, 1)
    assert _paused(page, 0)

    # And back up as a swipe ends (the slide scrolled into view): the first plays again.
    slides.nth(0).evaluate("slide => slide.scrollIntoView({block: 'start'})")
    _playing(page, 0)
    assert _paused(page, 1)


def test_double_tap_likes_with_a_heart(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    (video_id,) = _creator(client, clip, 1)
    _sam, sam = signup_and_login(client, "sam")
    _log_in(page, base, "sam")

    slide = page.locator("[data-testid=slide]").first
    expect(slide.locator("[data-testid=like-count]")).to_have_text("0")
    _playing(page, 0)
    page.evaluate(
        """() => {
            window.hearts = [];
            const seen = (records) => records.forEach((r) => r.addedNodes.forEach((n) => {
                if (n.dataset?.testid === 'heart-burst') window.hearts.push(n.style.left);
            }));
            const feed = document.querySelector('[data-testid=feed]');
            new MutationObserver(seen).observe(feed, {subtree: true, childList: true});
        }"""
    )
    stage = slide.locator("[data-role=stage]")
    # The count changes at once (optimistically); the API is asked only after the request lands.
    with page.expect_response(
        lambda r: r.url.endswith("/like") and r.request.method == "PUT"
    ) as liked:
        stage.dblclick(position={"x": 120, "y": 300})
    assert liked.value.status == 200

    expect(slide.locator("[data-testid=like-count]")).to_have_text("1")
    expect(slide.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => window.hearts") == ["120px"]
    video = _video(client, video_id, sam)
    assert video["stats"]["likes"] == 1
    assert video["me"]["liked"] is True

    # Another double tap shows another heart but never unlikes; the video keeps playing.
    stage.dblclick(position={"x": 200, "y": 420})
    page.wait_for_function("() => window.hearts.length >= 2")
    expect(slide.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "true")
    video = _video(client, video_id, sam)
    assert (video["stats"]["likes"], video["me"]["liked"]) == (1, True)
    _playing(page, 0)


def test_following_from_the_rail(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    (video_id,) = _creator(client, clip, 1)
    _sam, sam = signup_and_login(client, "sam")
    _log_in(page, base, "sam")

    follow = page.locator("[data-testid=slide]").first.locator("[data-testid=follow-button]")
    expect(follow).to_have_attribute("aria-label", "Follow @maya")
    with page.expect_response(lambda r: "/follow" in r.url and r.request.method == "PUT") as done:
        follow.click()
    assert done.value.status == 200
    assert done.value.url.endswith(f"/follow?video_id={video_id}")  # the video that won sam
    expect(follow).to_be_hidden()

    followers = client.get("/api/v1/users/maya/followers").json()
    assert [f["handle"] for f in followers["items"]] == ["sam"]
    assert _video(client, video_id, sam)["me"]["following_creator"] == "accepted"

    # The Following tab now has maya's video.
    page.locator("[data-testid=tab-following]").click()
    expect(page).to_have_url(f"{base}/following")
    expect(page.locator("[data-testid=slide]")).to_have_count(1)
    expect(page.locator("[data-testid=slide]").first).to_have_attribute("data-video-id", video_id)


def test_commenting_in_the_drawer(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    (video_id,) = _creator(client, clip, 1)
    signup_and_login(client, "sam")
    _log_in(page, base, "sam")

    slide = page.locator("[data-testid=slide]").first
    expect(slide.locator("[data-testid=comment-count]")).to_have_text("0")
    slide.locator("[data-testid=comments-button]").click()
    drawer = page.locator("[data-testid=comments-drawer]")
    expect(drawer).to_be_visible()

    text = "Golden hour done right @maya"
    drawer.locator("[data-testid=comment-input]").fill(text)
    expect(drawer.locator("[data-testid=comment-counter]")).to_have_text(f"{len(text)}/150")
    drawer.locator("[data-testid=comment-submit]").click()

    comment = drawer.locator("[data-testid=comment]")
    expect(comment).to_have_count(1)
    expect(comment.locator("[data-testid=comment-text]")).to_have_text(text)
    expect(drawer.locator("[data-testid=comment-input]")).to_have_value("")
    expect(slide.locator("[data-testid=comment-count]")).to_have_text("1")
    expect(drawer.locator("[data-testid=drawer-comment-count]")).to_have_text("1")

    listed = client.get(f"/api/v1/videos/{video_id}/comments").json()
    assert [(c["text"], c["author"]["handle"]) for c in listed["items"]] == [(text, "sam")]
    assert _video(client, video_id)["stats"]["comments"] == 1

    # Escape closes the drawer.
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()


def test_profile_likes_add_up_the_likes_of_its_videos(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    videos = _creator(client, clip, 3)
    fans = [signup_and_login(client, f"fan{i}")[1] for i in range(3)]
    likes = {0: [0, 1, 2], 1: [0, 2], 2: [1]}  # fan → videos they like
    for fan, liked in likes.items():
        for index in liked:
            response = client.put(f"/api/v1/videos/{videos[index]}/like", headers=fans[fan])
            assert response.status_code == 200, response.text
    client.delete(f"/api/v1/videos/{videos[2]}/like", headers=fans[0])  # one taken back

    total = sum(_video(client, v)["stats"]["likes"] for v in videos)
    assert total == 5
    page.goto(f"{base}/@maya")
    likes_shown = page.locator("[data-testid=total-likes]")
    expect(likes_shown).to_have_attribute("title", str(total))
    expect(likes_shown).to_have_text(str(total))


def test_watch_time_is_reported_when_the_viewer_moves_on(
    live_server: str, browser_page: Page, client: TestClient, clip: Path, database: Database
) -> None:
    from sqlalchemy import select

    from playback.engagement.models import WatchEvent

    page, base = browser_page, live_server
    _creator(client, clip, 2)
    page.goto(f"{base}/")
    expect(page.locator("[data-testid=slide]")).to_have_count(2)
    first = page.locator("[data-testid=slide]").first.get_attribute("data-video-id")
    _playing(page, 0)
    page.wait_for_timeout(2_000)  # watch for about two seconds (the 2 s clip loops)
    page.keyboard.press("ArrowDown")
    _playing(page, 1)

    deadline = time.monotonic() + 10
    events: list[WatchEvent] = []
    while not events and time.monotonic() < deadline:
        with database.unit_of_work(write=False) as db:
            events = list(db.scalars(select(WatchEvent)))
            db.expunge_all()
        time.sleep(0.1)
    assert [str(e.video_id) for e in events] == [first]
    (event,) = events
    assert event.source == "for_you"
    assert event.viewer_id is None  # a logged-out viewer
    assert 1_000 <= event.watched_ms <= 6_000
    assert _video(client, str(first))["stats"]["views"] == 1


def test_logged_out_visitors_see_for_you(
    live_server: str, browser_page: Page, client: TestClient, clip: Path
) -> None:
    page, base = browser_page, live_server
    (video_id,) = _creator(client, clip, 1)
    page.goto(f"{base}/")

    slide = page.locator("[data-testid=slide]")
    expect(slide).to_have_count(1)
    expect(slide.first).to_have_attribute("data-video-id", video_id)
    expect(slide.first.locator("[data-testid=caption]")).to_have_text("Take 1 with @maya #sunset")
    expect(slide.first.locator("[data-testid=reasons]")).to_be_visible()
    expect(page.locator("[data-testid=tab-for-you]")).to_have_attribute("aria-current", "page")
    _playing(page, 0)

    # Liking asks to log in and comes back to the feed.
    slide.first.locator("[data-testid=like-button]").click()
    sheet = page.locator("[data-testid=login-sheet]")
    expect(sheet).to_be_visible()
    expect(sheet.locator("[data-testid=login-sheet-link]")).to_have_attribute(
        "href", "/login?next=/"
    )
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()

    # The Following tab asks them to log in.
    page.locator("[data-testid=tab-following]").click()
    empty = page.locator("[data-testid=feed-empty]")
    expect(empty).to_be_visible()
    expect(empty.locator("a")).to_have_text("Log in")
    expect(page.locator("[data-testid=slide]")).to_have_count(0)


def test_inbox_badge_and_list_update_live(
    live_server: str, browser_page: Page, client: TestClient
) -> None:
    page, base = browser_page, live_server
    _maya, maya = signup_and_login(client, "maya")
    _leo, leo = signup_and_login(client, "leo")
    signup(client, "sam")
    _log_in(page, base, "sam")
    badge = page.locator("[data-testid=inbox-badge]")
    expect(page.locator("[data-testid=feed-empty]")).to_contain_text("No videos yet")
    expect(badge).to_be_hidden()

    # Someone follows sam: the badge on the feed counts it, live.
    assert client.put("/api/v1/users/sam/follow", headers=maya).status_code == 200
    expect(badge).to_have_text("1")
    expect(page.locator("[data-testid=inbox-link]")).to_have_attribute(
        "aria-label", "Inbox, 1 unread"
    )

    # Opening the inbox lists it, highlighted, and marks everything read.
    page.locator("[data-testid=inbox-link]").click()
    expect(page).to_have_url(f"{base}/inbox")
    items = page.locator("[data-testid=notification]")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("maya started following you")
    expect(items.first).to_have_class(re.compile(r"\bunread\b"))
    expect(badge).to_be_hidden()
    sam = login(client, "sam")
    assert client.get("/api/v1/notifications/unread-count", headers=sam).json() == {
        "unread_count": 0
    }

    # A new one arrives while the inbox is open: it appears on top and is read at once.
    assert client.put("/api/v1/users/sam/follow", headers=leo).status_code == 200
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("leo started following you")
    expect(badge).to_be_hidden()
