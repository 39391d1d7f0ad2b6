"""Sessions: tokens stored hashed, expiry, logout, log out everywhere, login rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts import tasks
from playback.accounts.models import AuthSession
from playback.config import Settings
from playback.db import Database
from playback.kit.time import UTC, set_clock
from playback.safety.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.conftest import PASSWORD, count_rows, login, signup


def test_login_gives_a_token_that_is_stored_only_as_a_hash(
    client: TestClient, database: Database
) -> None:
    signup(client, "maya")
    response = client.post("/api/v1/sessions", json={"handle": "MAYA", "password": PASSWORD})
    assert response.status_code == 201
    token = response.json()["token"]
    assert len(token) >= 40
    expires = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert expires > dt.datetime.now(UTC) + dt.timedelta(days=29)
    with database.engine.connect() as conn:
        stored = conn.execute(sa.select(AuthSession.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["handle"] == "maya"


@pytest.mark.parametrize("password", ["wrong-password", PASSWORD.upper()])
def test_wrong_password_is_refused(client: TestClient, password: str) -> None:
    signup(client, "maya")
    response = client.post("/api/v1/sessions", json={"handle": "maya", "password": password})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_unknown_handle_gives_the_same_answer(client: TestClient) -> None:
    response = client.post("/api/v1/sessions", json={"handle": "nobody", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000]
)
def test_bad_tokens_are_401(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("invalid_token", "not_authenticated")


def test_anonymous_me_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_logout_ends_only_this_session(client: TestClient) -> None:
    signup(client, "maya")
    phone, laptop = login(client, "maya"), login(client, "maya")
    assert client.delete("/api/v1/sessions/current", headers=phone).status_code == 204
    assert client.get("/api/v1/me", headers=phone).status_code == 401
    assert client.get("/api/v1/me", headers=laptop).status_code == 200


def test_log_out_everywhere(client: TestClient, database: Database) -> None:
    signup(client, "maya")
    signup(client, "leo")
    sessions = [login(client, "maya") for _ in range(3)]
    other = login(client, "leo")
    assert client.delete("/api/v1/sessions", headers=sessions[0]).status_code == 204
    for headers in sessions:
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 200
    assert count_rows(database, "sessions") == 1


def test_sessions_expire(client: TestClient, settings: Settings) -> None:
    signup(client, "maya")
    headers = login(client, "maya")
    later = dt.datetime.now(UTC) + dt.timedelta(days=settings.session_days, minutes=1)
    set_clock(lambda: later)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_daily_job_purges_expired_sessions(client: TestClient, database: Database) -> None:
    signup(client, "maya")
    login(client, "maya")
    login(client, "maya")
    assert count_rows(database, "sessions") == 2
    set_clock(lambda: dt.datetime.now(UTC) + dt.timedelta(days=31))
    login(client, "maya")  # a fresh session that must survive
    assert tasks.purge_expired_sessions.call_local() == 2
    assert count_rows(database, "sessions") == 1


def test_login_attempts_are_limited_per_handle(client: TestClient, settings: Settings) -> None:
    signup(client, "maya")
    for _ in range(settings.login_limit_per_handle):
        r = client.post("/api/v1/sessions", json={"handle": "maya", "password": "wrong-guess"})
        assert r.status_code == 401
    blocked = client.post("/api/v1/sessions", json={"handle": "maya", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["Retry-After"]) <= settings.login_limit_window_seconds
    # Someone else is not affected by the attack on maya.
    signup(client, "leo")
    assert (
        client.post("/api/v1/sessions", json={"handle": "leo", "password": PASSWORD}).status_code
        == 201
    )


def test_login_attempts_are_limited_per_address(client: TestClient, settings: Settings) -> None:
    settings.login_limit_per_ip = 5
    for i in range(5):
        client.post("/api/v1/sessions", json={"handle": f"guess{i}", "password": "wrong-guess"})
    r = client.post("/api/v1/sessions", json={"handle": "another", "password": "wrong-guess"})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


def test_a_successful_login_clears_the_handle_counter(
    client: TestClient, settings: Settings
) -> None:
    signup(client, "maya")
    for _ in range(settings.login_limit_per_handle - 1):
        client.post("/api/v1/sessions", json={"handle": "maya", "password": "wrong-guess"})
    login(client, "maya")
    for _ in range(settings.login_limit_per_handle - 1):
        r = client.post("/api/v1/sessions", json={"handle": "maya", "password": "wrong-guess"})
        assert r.status_code == 401


def _exercise_limiter(limiter: MemoryRateLimiter | RedisRateLimiter, key: str) -> None:
    limiter.reset(key)
    assert limiter.count(key) == (0, 0)
    assert limiter.record(key, 60) == 1
    assert limiter.record(key, 60) == 2
    count, retry_after = limiter.count(key)
    assert count == 2 and 0 < retry_after <= 60
    limiter.reset(key)
    assert limiter.count(key)[0] == 0


def test_memory_rate_limiter() -> None:
    _exercise_limiter(MemoryRateLimiter(), "test:key")


@pytest.mark.redis
def test_redis_rate_limiter(redis_url: str) -> None:
    _exercise_limiter(RedisRateLimiter(redis_url, prefix="playback-test:rl:"), "test:key")


@pytest.mark.redis
def test_login_limits_are_shared_through_redis(
    settings: Settings, database: Database, redis_url: str
) -> None:
    """Two app processes (two app objects here) count the same attempts when Redis is set."""
    from playback.app import create_app

    settings.redis_url = redis_url
    RedisRateLimiter(redis_url).reset("login:handle:shared.user")
    first, second = create_app(settings, database=database), create_app(settings, database=database)
    with TestClient(first) as a, TestClient(second) as b:
        signup(a, "shared.user")
        for i in range(settings.login_limit_per_handle):
            client = a if i % 2 else b
            client.post(
                "/api/v1/sessions", json={"handle": "shared.user", "password": "wrong-guess"}
            )
        assert (
            a.post(
                "/api/v1/sessions", json={"handle": "shared.user", "password": PASSWORD}
            ).status_code
            == 429
        )
        assert (
            b.post(
                "/api/v1/sessions", json={"handle": "shared.user", "password": PASSWORD}
            ).status_code
            == 429
        )
    RedisRateLimiter(redis_url).reset("login:handle:shared.user")
    RedisRateLimiter(redis_url).reset("login:ip:testclient")
