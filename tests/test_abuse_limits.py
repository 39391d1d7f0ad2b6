"""Abuse limits: signup, upload, comment, like and follow are counted per account and per
address; past a limit the API answers 429 with ``Retry-After`` and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from playback.app import create_app
from playback.config import Settings
from playback.db import Database
from playback.safety.ratelimit import ActionLimit
from tests.conftest import count_rows, post_video, signup, signup_and_login
from tests.test_errors import assert_error_shape


def _refused(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert_error_shape(response.json(), "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= window


def test_likes_past_the_account_limit_are_refused_and_change_nothing(
    client: TestClient, settings: Settings, database: Database, clip: Path
) -> None:
    settings.like_limit = "2/0/600"
    _, maker = signup_and_login(client, "liked.maker")
    videos = [post_video(client, maker, clip) for _ in range(3)]
    _, fan = signup_and_login(client, "eager.fan")
    for video in videos[:2]:
        assert client.put(f"/api/v1/videos/{video}/like", headers=fan).status_code == 200
    _refused(client.put(f"/api/v1/videos/{videos[2]}/like", headers=fan), 600)
    assert count_rows(database, "likes") == 2
    # Another account is counted on its own.
    _, other = signup_and_login(client, "calm.fan")
    assert client.put(f"/api/v1/videos/{videos[2]}/like", headers=other).status_code == 200


def test_the_address_limit_is_shared_by_every_account_behind_it(
    client: TestClient, settings: Settings, database: Database, clip: Path
) -> None:
    settings.comment_limit = "0/3/600"
    _, maker = signup_and_login(client, "talked.about")
    video = post_video(client, maker, clip)
    accounts = [signup_and_login(client, f"talker{i}")[1] for i in range(4)]
    for headers in accounts[:3]:
        response = client.post(
            f"/api/v1/videos/{video}/comments", json={"text": "nice"}, headers=headers
        )
        assert response.status_code == 201
    response = client.post(
        f"/api/v1/videos/{video}/comments", json={"text": "nice"}, headers=accounts[3]
    )
    _refused(response, 600)
    assert count_rows(database, "comments") == 3


def test_follows_uploads_and_signups_are_limited(
    client: TestClient, settings: Settings, database: Database, clip: Path
) -> None:
    settings.follow_limit = "1/0/60"
    settings.upload_limit = "1/0/3600"
    _, me = signup_and_login(client, "busy.person")
    signup(client, "first.star")
    signup(client, "second.star")
    assert client.put("/api/v1/users/first.star/follow", headers=me).status_code == 200
    _refused(client.put("/api/v1/users/second.star/follow", headers=me), 60)
    assert count_rows(database, "follows") == 1

    post_video(client, me, clip)
    response = client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
        headers=me,
    )
    _refused(response, 3600)
    assert count_rows(database, "videos") == 1

    settings.signup_limit = "0/4/3600"  # three sign-ups from this address so far
    signup(client, "one.more")
    users = count_rows(database, "users")
    response = client.post(
        "/api/v1/accounts",
        json={
            "handle": "too.many",
            "password": "correct horse battery staple",
            "birthdate": "1990-01-01",
            "country": "DE",
        },
    )
    _refused(response, 3600)
    assert count_rows(database, "users") == users


def test_limits_can_be_turned_off(
    client: TestClient, settings: Settings, database: Database, clip: Path
) -> None:
    settings.like_limit = "1/1/600"
    settings.rate_limits = False
    _, maker = signup_and_login(client, "free.maker")
    videos = [post_video(client, maker, clip) for _ in range(2)]
    _, fan = signup_and_login(client, "free.fan")
    for video in videos:
        assert client.put(f"/api/v1/videos/{video}/like", headers=fan).status_code == 200


def test_a_limit_setting_must_be_well_formed() -> None:
    assert ActionLimit.parse("30/100/3600") == ActionLimit(30, 100, 3600)
    for bad in ("30/100", "a/b/c", "1/2/0", "-1/2/3"):
        with pytest.raises(ValueError):
            ActionLimit.parse(bad)
        with pytest.raises(ValueError, match="per account"):
            Settings(like_limit=bad)


@pytest.mark.redis
def test_limits_are_shared_through_redis(
    settings: Settings, database: Database, clip: Path, redis_url: str
) -> None:
    """Two app processes (two app objects here) count one account's likes together."""
    settings.redis_url = redis_url
    settings.like_limit = "2/0/600"
    settings.signup_limit = "0/0/3600"  # Redis keeps counts between runs: sign-ups unlimited
    first = create_app(settings, database=database)
    second = create_app(settings, database=database)
    with TestClient(first) as one, TestClient(second) as two:
        _, maker = signup_and_login(one, "shared.maker")
        videos = [post_video(one, maker, clip) for _ in range(3)]
        _, fan = signup_and_login(one, "shared.fan")
        assert one.put(f"/api/v1/videos/{videos[0]}/like", headers=fan).status_code == 200
        assert two.put(f"/api/v1/videos/{videos[1]}/like", headers=fan).status_code == 200
        _refused(one.put(f"/api/v1/videos/{videos[2]}/like", headers=fan), 600)


def test_the_web_sign_up_form_is_limited_too(
    client: TestClient, settings: Settings, database: Database
) -> None:
    settings.signup_limit = "0/1/3600"
    page = client.get("/signup")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]

    def sign_up(handle: str) -> Any:
        form = {
            "csrf_token": token,
            "handle": handle,
            "password": "correct horse battery staple",
            "birthdate": "1990-01-01",
            "country": "DE",
        }
        return client.post("/signup", data=form, follow_redirects=False)

    assert sign_up("web.first").status_code == 303
    client.cookies.clear()
    page = client.get("/signup")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = sign_up("web.second")
    assert refused.status_code == 429
    assert "too often" in refused.text
    assert count_rows(database, "users") == 1
