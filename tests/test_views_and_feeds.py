"""Watch events and view counts; the Following feed and the interim For You feed."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts.models import User
from playback.db import Database
from playback.engagement.models import WatchEvent
from playback.kit.time import UTC, set_clock
from playback.media.models import Video
from tests.conftest import post_video, signup_and_login


def view(
    client: TestClient, video: str, headers: dict[str, str] | None = None, **body: object
) -> dict[str, object]:
    payload = {"watched_ms": 1500, "source": "for_you", **body}
    response = client.post(f"/api/v1/videos/{video}/views", json=payload, headers=headers or {})
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


def test_a_viewer_counts_once_per_ten_minutes(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video = post_video(client, maya_h, clip)
    assert view(client, video, leo_h)["counted"] is True
    assert view(client, video, leo_h)["counted"] is False
    assert view(client, video, leo_h, source="profile")["view_count"] == 1
    later = dt.datetime.now(UTC) + dt.timedelta(minutes=11)
    set_clock(lambda: later)
    assert view(client, video, leo_h)["view_count"] == 2
    with database.engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(WatchEvent)).scalar_one()
    assert events == 4  # every event's watch time is kept


def test_anonymous_viewers_count_too(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    assert view(client, video)["counted"] is True
    assert view(client, video)["counted"] is False  # the same browser
    client.cookies.set("pb_anon", "another-browser")
    assert view(client, video)["view_count"] == 2


def test_absurd_watch_times_are_clamped(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    result = view(client, video, watched_ms=10 * 3600 * 1000)
    duration = client.get(f"/api/v1/videos/{video}").json()["duration_ms"]
    assert result["watched_ms"] == duration * 5


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"watched_ms": -1, "source": "for_you"}, 422, "validation_error"),
        ({"watched_ms": 1000, "source": "tv"}, 422, "invalid_source"),
        ({"watched_ms": "lots", "source": "for_you"}, 422, "validation_error"),
        ({"source": "for_you"}, 422, "validation_error"),
    ],
)
def test_bad_watch_events(
    client: TestClient, clip: Path, body: dict[str, object], status: int, code: str
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    response = client.post(f"/api/v1/videos/{video}/views", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_following_feed_shows_followed_creators_newest_first(
    client: TestClient, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    _, other_h = signup_and_login(client, "other")
    _, me_h = signup_and_login(client, "me.viewer")
    client.put("/api/v1/users/maya/follow", headers=me_h)
    client.put("/api/v1/users/leo/follow", headers=me_h)
    expected = []
    for headers in (maya_h, leo_h, maya_h):
        expected.append(post_video(client, headers, clip))
    post_video(client, other_h, clip)  # not followed
    post_video(client, maya_h, clip, visibility="private")  # never in feeds
    followers_only = post_video(client, leo_h, clip, visibility="followers")
    expected.append(followers_only)
    items = client.get("/api/v1/feeds/following", headers=me_h).json()["items"]
    assert [i["id"] for i in items] == list(reversed(expected))
    assert all(i["me"]["following_creator"] == "accepted" for i in items)
    # Unfollow and the videos leave; block and they leave too.
    client.delete("/api/v1/users/leo/follow", headers=me_h)
    client.put("/api/v1/users/me.viewer/block", headers=maya_h)
    assert client.get("/api/v1/feeds/following", headers=me_h).json()["items"] == []
    assert client.get("/api/v1/feeds/following").status_code == 401
    bad = client.get("/api/v1/feeds/following", params={"cursor": "x" * 30}, headers=me_h)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_following_feed_pages(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import playback.feeds.service as feeds

    monkeypatch.setattr(feeds, "PAGE_SIZE", 2)
    _, maya_h = signup_and_login(client, "maya")
    _, me_h = signup_and_login(client, "me.viewer")
    client.put("/api/v1/users/maya/follow", headers=me_h)
    ids = [post_video(client, maya_h, clip) for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/feeds/following", params={"cursor": cursor} if cursor else {}, headers=me_h
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_for_you_never_repeats_and_skips_what_was_watched(client: TestClient, clip: Path) -> None:
    creators = [signup_and_login(client, f"creator{i}")[1] for i in range(4)]
    videos = {post_video(client, h, clip) for h in creators for _ in range(4)}
    _, me_h = signup_and_login(client, "me.viewer")
    watched = sorted(videos)[0]
    view(client, watched, me_h)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = client.get(
            "/api/v1/feeds/for-you", params={"cursor": cursor} if cursor else {}, headers=me_h
        ).json()
        seen += [i["id"] for i in page["items"]]
        assert all(i["reasons"] for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))  # never a repeat
    assert set(seen) == videos - {watched}
    # Anonymous visitors get a feed too: as full as the variety rule allows (at most 2 videos
    # of one creator in any 10, and there are 4 creators).
    anonymous = client.get("/api/v1/feeds/for-you").json()["items"]
    assert len(anonymous) == 8
    forged = client.get("/api/v1/feeds/for-you", params={"cursor": "garbage"}, headers=me_h)
    assert forged.status_code == 400


def test_for_you_hides_private_blocked_and_unready(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, public_h = signup_and_login(client, "public.one")
    _, teen_h = signup_and_login(client, "teen", age=14)
    _, blocker_h = signup_and_login(client, "blocker")
    _, me_h = signup_and_login(client, "me.viewer")
    visible = post_video(client, public_h, clip)
    post_video(client, public_h, clip, visibility="private")
    post_video(client, public_h, clip, visibility="followers")
    post_video(client, teen_h, clip)  # a private account
    post_video(client, blocker_h, clip)
    client.put("/api/v1/users/me.viewer/block", headers=blocker_h)
    with database.engine.begin() as conn:
        first = conn.execute(sa.select(Video.id).order_by(Video.id).limit(1)).scalar_one()
        conn.execute(sa.update(Video).where(Video.id == first).values(status="processing"))
    items = client.get("/api/v1/feeds/for-you", headers=me_h).json()["items"]
    ids = {i["id"] for i in items}
    assert ids <= {visible}
    assert uuid.UUID(visible)


def test_new_videos_of_small_creators_get_an_audience(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, star_h = signup_and_login(client, "star")
    _, small_h = signup_and_login(client, "small")
    for _ in range(10):
        post_video(client, star_h, clip)
    small_video = post_video(client, small_h, clip)
    with database.engine.begin() as conn:  # the star is big and established
        star = conn.execute(sa.select(User.id).where(User.handle == "star")).scalar_one()
        conn.execute(
            sa.update(User)
            .where(User.id == star)
            .values(follower_count=50000, created_at=dt.datetime(2020, 1, 1, tzinfo=UTC))
        )
        conn.execute(
            sa.update(Video).where(Video.creator_id == star).values(like_count=500, view_count=1000)
        )
    _, me_h = signup_and_login(client, "me.viewer")
    items = client.get("/api/v1/feeds/for-you", headers=me_h).json()["items"]
    assert small_video in [i["id"] for i in items]
    small_item = next(i for i in items if i["id"] == small_video)
    assert "New: finding its first audience" in small_item["reasons"]


def test_pages_give_logged_out_browsers_a_viewer_id(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    client.cookies.clear()
    assert "pb_anon" in client.get("/").cookies
    assert view(client, video)["counted"] is True
    assert view(client, video)["counted"] is False
    kept = client.cookies["pb_anon"]
    client.cookies.clear()
    client.cookies.set("pb_anon", "a-different-browser")
    assert view(client, video)["counted"] is True
    assert kept != "a-different-browser"


def test_saves_list_pages_most_recent_first(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import playback.engagement.api as engagement_api

    monkeypatch.setattr(engagement_api, "PAGE_SIZE", 2)
    _, maya_h = signup_and_login(client, "maya")
    _, me_h = signup_and_login(client, "me.viewer")
    videos = [post_video(client, maya_h, clip) for _ in range(5)]
    for video in videos:
        assert client.put(f"/api/v1/videos/{video}/save", headers=me_h).json()["saved"] is True
    seen, cursor = [], None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = client.get("/api/v1/me/saves", params=params, headers=me_h).json()
        seen += [i["id"] for i in page["items"]]
        assert all(i["me"]["saved"] for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(videos))
