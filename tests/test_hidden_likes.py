"""Hidden like counts: a creator who turns on ``hide_like_counts`` shows nobody else the like
counts of their videos — not in any feed, on the profile grid, a sound's page, favourites, the
video's page or the like button's answer — while they still see their own, the like button
still works for others, every like still counts in the truth, and the profile keeps its total
likes headline."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from playback.db import Database
from playback.engagement.models import Like
from tests.conftest import PASSWORD, post_video, signup_and_login

Headers = dict[str, str]
ANONYMOUS: Headers = {}


def _get(client: TestClient, path: str, headers: Headers) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _likes(card: dict[str, Any]) -> tuple[int | None, bool]:
    return card["stats"]["likes"], card["stats"]["likes_hidden"]


def _hide(client: TestClient, headers: Headers, hide: bool) -> None:
    response = client.patch("/api/v1/me", json={"hide_like_counts": hide}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["hide_like_counts"] is hide


def _world(client: TestClient, clip: Path) -> tuple[Headers, Headers, Headers, list[str]]:
    """maya (hiding her like counts) with two videos, the first liked by leo and jun; leo
    follows her and saved the first."""
    _, maya = signup_and_login(client, "maya")
    _, leo = signup_and_login(client, "leo")
    _, jun = signup_and_login(client, "jun")
    videos = [post_video(client, maya, clip, caption=f"take {n} #dance") for n in (1, 2)]
    for fan in (leo, jun):
        assert client.put(f"/api/v1/videos/{videos[0]}/like", headers=fan).status_code == 200
    assert client.put("/api/v1/users/maya/follow", headers=leo).status_code == 200
    assert client.put(f"/api/v1/videos/{videos[0]}/save", headers=leo).status_code == 200
    assert client.get("/api/v1/me", headers=maya).json()["hide_like_counts"] is False
    _hide(client, maya, True)
    return maya, leo, jun, videos


def test_others_see_no_like_count_anywhere_the_api_shows_a_video(
    client: TestClient, clip: Path
) -> None:
    maya, leo, _jun, videos = _world(client, clip)
    first = videos[0]
    hidden = (None, True)

    # The video itself.
    for headers in (ANONYMOUS, leo):
        assert _likes(_get(client, f"/api/v1/videos/{first}", headers)) == hidden
    assert _likes(_get(client, f"/api/v1/videos/{first}", maya)) == (2, False)

    # The profile grid.
    for headers, expected in ((ANONYMOUS, [hidden] * 2), (leo, [hidden] * 2), (maya, None)):
        items = _get(client, "/api/v1/users/maya/videos", headers)["items"]
        shown = [_likes(item) for item in items]
        assert shown == (expected or [(0, False), (2, False)])

    # Feeds: For You (anonymous and logged in) and Following.
    for headers in (ANONYMOUS, leo):
        feed = _get(client, "/api/v1/feeds/for-you", headers)["items"]
        mine = [item for item in feed if item["creator"]["handle"] == "maya"]
        assert mine and all(_likes(item) == hidden for item in mine)
    following = _get(client, "/api/v1/feeds/following", leo)["items"]
    assert [_likes(item) for item in following] == [hidden, hidden]

    # Favourites, and the sound the video made (its original sound's page).
    assert [_likes(item) for item in _get(client, "/api/v1/me/saves", leo)["items"]] == [hidden]
    sound = _get(client, f"/api/v1/videos/{first}", leo)["sound"]
    assert sound is not None
    sound_videos = _get(client, f"/api/v1/sounds/{sound['id']}/videos", leo)["items"]
    assert sound_videos and all(_likes(item) == hidden for item in sound_videos)
    owners_view = _get(client, f"/api/v1/sounds/{sound['id']}/videos", maya)["items"]
    assert [_likes(item) for item in owners_view] == [(2, False)]

    # Search and hashtag lists carry no counts at all: nothing to leak.
    for path in ("/api/v1/search?q=take", "/api/v1/hashtags/dance/videos"):
        items = _get(client, path, leo)["items"]
        assert items and all(item["stats"] is None for item in items)

    # Other counts stay.
    card = _get(client, f"/api/v1/videos/{first}", leo)
    assert card["stats"]["saves"] == 1 and card["me"]["liked"] is True

    # Turned off, everyone sees the counts again.
    _hide(client, maya, False)
    for headers in (ANONYMOUS, leo, maya):
        assert _likes(_get(client, f"/api/v1/videos/{first}", headers)) == (2, False)


def test_the_like_button_still_works_and_every_like_still_counts(
    client: TestClient, database: Database, clip: Path
) -> None:
    maya, _leo, jun, videos = _world(client, clip)
    second = videos[1]
    like = f"/api/v1/videos/{second}/like"
    hidden_answer = {"liked": True, "like_count": None, "likes_hidden": True}
    assert client.put(like, headers=jun).json() == hidden_answer
    assert client.put(like, headers=jun).json() == hidden_answer  # idempotent
    # The truth and the owner's view count it; so does the profile's total likes headline.
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).select_from(Like).where(Like.video_id == uuid.UUID(second))
        ).scalar_one()
    assert rows == 1
    assert _likes(_get(client, f"/api/v1/videos/{second}", maya)) == (1, False)
    assert _get(client, "/api/v1/users/maya", ANONYMOUS)["total_likes"] == 3
    # The creator liking their own video is answered with the count.
    assert client.put(like, headers=maya).json() == {
        "liked": True,
        "like_count": 2,
        "likes_hidden": False,
    }
    assert client.delete(like, headers=jun).json() == {
        "liked": False,
        "like_count": None,
        "likes_hidden": True,
    }
    assert _likes(_get(client, f"/api/v1/videos/{second}", maya)) == (1, False)
    assert _get(client, "/api/v1/users/maya", ANONYMOUS)["total_likes"] == 3


def _log_in(web: TestClient, handle: str) -> None:
    token = web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = web.post(
        "/login",
        data={"handle": handle, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _csrf(web: TestClient, path: str) -> str:
    return web.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_pages_show_a_heart_without_a_number_to_others(
    client: TestClient, app: FastAPI, clip: Path
) -> None:
    _maya, leo, _jun, videos = _world(client, clip)
    page = client.get(f"/v/{videos[0]}").text  # anonymous
    assert 'data-testid="like-count" data-hidden="true"' in page
    assert "♥ 2" not in page
    # The profile keeps its total likes headline.
    profile = client.get("/@maya").text
    assert 'data-testid="total-likes" title="2">2</strong>' in profile

    with TestClient(app) as web:
        _log_in(web, "leo")
        page = web.get(f"/v/{videos[0]}").text
        assert 'data-hidden="true"' in page and "♥ 2" not in page
    with TestClient(app) as web:
        _log_in(web, "maya")
        page = web.get(f"/v/{videos[0]}").text
        assert "♥ 2" in page and 'data-hidden="true"' not in page

        # The settings page's checkbox switches it.
        settings = web.get("/settings").text
        assert 'name="hide_like_counts" data-testid="hide-like-counts" checked' in settings
        form = {"display_name": "maya", "bio": "", "handle": "maya"}
        saved = web.post(
            "/settings",
            data={**form, "csrf_token": _csrf(web, "/settings")},
            follow_redirects=False,
        )
        assert saved.status_code == 303
        assert web.get("/api/v1/me").json()["hide_like_counts"] is False
        assert "♥ 2" in client.get(f"/v/{videos[0]}").text
        saved = web.post(
            "/settings",
            data={**form, "hide_like_counts": "on", "csrf_token": _csrf(web, "/settings")},
            follow_redirects=False,
        )
        assert saved.status_code == 303
        assert web.get("/api/v1/me").json()["hide_like_counts"] is True
    assert 'data-hidden="true"' in client.get(f"/v/{videos[0]}", headers=leo).text
