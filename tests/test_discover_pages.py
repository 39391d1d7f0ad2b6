"""The search page and hashtag pages, server-rendered."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import post_video, signup_and_login


def test_search_page_finds_people_tags_and_videos(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya.sings")
    video = post_video(client, maya_h, clip, caption="Karaoke night #karaoke with friends")
    client.post(f"/api/v1/videos/{video}/views", json={"watched_ms": 1000, "source": "search"})
    page = client.get("/search", params={"q": "karaoke"})
    assert page.status_code == 200
    assert f"/v/{video}" in page.text
    assert 'href="/tag/karaoke"' in page.text
    people = client.get("/search", params={"q": "maya"})
    assert 'href="/@maya.sings"' in people.text
    empty = client.get("/search", params={"q": "nothing-like-this"})
    assert "No videos match" in empty.text
    too_long = client.get("/search", params={"q": "x" * 150})
    assert too_long.status_code == 422 and 'data-code="query_too_long"' in too_long.text


def test_hashtag_page_shows_total_views_and_videos(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    first = post_video(client, maya_h, clip, caption="#Dance practice")
    second = post_video(client, maya_h, clip, caption="more #dance")
    hidden = post_video(client, maya_h, clip, caption="secret #dance", visibility="private")
    for video in (first, second):
        client.post(f"/api/v1/videos/{video}/views", json={"watched_ms": 1000, "source": "hashtag"})
    page = client.get("/tag/dance")
    assert page.status_code == 200
    assert 'data-testid="hashtag-views" title="2"' in page.text
    assert f"/v/{first}" in page.text and f"/v/{second}" in page.text
    assert f"/v/{hidden}" not in page.text
    # Captions link their hashtags here.
    assert 'href="/tag/dance"' in client.get(f"/v/{first}").text
    assert client.get("/tag/nosuchtag", headers={"Accept": "text/html"}).status_code == 404


def test_favourites_page_lists_saved_videos(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    kept = post_video(client, maya_h, clip, caption="keep this")
    other = post_video(client, maya_h, clip, caption="not saved")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"handle": "maya", "password": "correct-horse-battery", "csrf_token": token},
        follow_redirects=False,
    )
    csrf = client.get("/saved").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        client.put(f"/api/v1/videos/{kept}/save", headers={"X-CSRF-Token": csrf}).status_code == 200
    )
    saved = client.get("/saved")
    assert f"/v/{kept}" in saved.text and f"/v/{other}" not in saved.text
    assert 'data-testid="favourites-link"' in client.get("/@maya").text
    client.cookies.clear()
    assert client.get("/saved", follow_redirects=False).headers["location"] == "/login?next=/saved"
