"""Test fixtures: a real database (SQLite, or PostgreSQL with PLAYBACK_TEST_DATABASE_URL), the
real app over ASGI, and helpers to sign people up.

Each test session migrates one database; every test then starts from empty tables.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from playback import jobs
from playback.accounts.passwords import use_fast_parameters
from playback.app import create_app
from playback.config import Settings, set_settings
from playback.db import Database, set_database
from playback.kit.time import set_clock
from playback.migrations import upgrade
from playback.models import metadata

PG_URL = os.environ.get("PLAYBACK_TEST_DATABASE_URL")
SERVER_START_TIMEOUT = 15.0
SERVER_STOP_TIMEOUT = 15.0
REDIS_URL = os.environ.get("PLAYBACK_TEST_REDIS_URL")
REQUIRE_SERVICES = bool(os.environ.get("PLAYBACK_REQUIRE_SERVICES"))
PASSWORD = "correct-horse-battery"
use_fast_parameters()


def _pg_url_with_schema(url: str, schema: str) -> str:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def make_pg_schema(schema: str) -> str:
    """A fresh, empty schema in the test PostgreSQL; returns a URL that works inside it."""
    assert PG_URL is not None
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return _pg_url_with_schema(PG_URL, schema)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"database: {'PostgreSQL (PLAYBACK_TEST_DATABASE_URL)' if PG_URL else 'SQLite'}",
        f"redis: {'PLAYBACK_TEST_REDIS_URL' if REDIS_URL else 'not configured (Redis tests skip)'}",
    ]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if PG_URL:
        url = make_pg_schema(f"playback_test_{worker.lower()}")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'playback.db'}"
    engine = sa.create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        redis_url=None,
        log_format="console",
    )
    set_settings(settings)
    yield settings
    set_settings(None)


def _empty_all_tables(database: Database) -> None:
    tables = list(reversed(metadata.sorted_tables))
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for table in tables:
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    set_database(database)
    jobs.configure_jobs(settings, immediate=True)
    from playback.feeds.candidates import clear_caches
    from playback.feeds.pools import pools

    clear_caches()  # per-process caches must not carry one test's rows into the next
    # Tests read every shared list in their own thread (test_feed_pools covers the background).
    pools.background = False
    yield database
    _empty_all_tables(database)
    set_database(None)
    set_clock(None)
    database.dispose()


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def db(database: Database) -> Iterator[Any]:
    """A session for looking at what the app stored (committed at the end of the test)."""
    with database.unit_of_work() as session:
        yield session


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served over real HTTP by uvicorn in a background thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            pytest.fail(f"uvicorn exited before it started serving on 127.0.0.1:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(SERVER_STOP_TIMEOUT)
            pytest.fail(f"uvicorn did not start within {SERVER_START_TIMEOUT:.0f}s on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_STOP_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not shut down"


def birthdate_for(years: int, days_past_birthday: int = 30) -> str:
    today = dt.datetime.now(dt.UTC).date()
    born = today - dt.timedelta(days=days_past_birthday)
    try:
        born = born.replace(year=born.year - years)
    except ValueError:  # 29 February in a common year
        born = born.replace(year=born.year - years, day=28)
    return born.isoformat()


def signup(
    client: TestClient,
    handle: str | None = None,
    *,
    age: int = 25,
    country: str = "DE",
    password: str = PASSWORD,
    **extra: Any,
) -> dict[str, Any]:
    handle = handle or f"user_{uuid.uuid4().hex[:8]}"
    body = {
        "handle": handle,
        "password": password,
        "birthdate": birthdate_for(age),
        "country": country,
    }
    body.update(extra)
    response = client.post("/api/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def login(client: TestClient, handle: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json={"handle": handle, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def signup_and_login(
    client: TestClient, handle: str | None = None, **kw: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    user = signup(client, handle, **kw)
    return user, login(client, user["handle"], kw.get("password", PASSWORD))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A small real video (H.264 + AAC MP4, 1.5 s, portrait)."""
    from tests import media_corpus

    return media_corpus.make_clip(tmp_path, width=180, height=320, seconds=1.5, fps=24)


def post_video(client: TestClient, headers: dict[str, str], path: Path, **fields: str) -> str:
    """Upload through the API (jobs run inline in tests, so the video is ready on return)."""
    response = client.post(
        "/api/v1/videos",
        files={"file": (path.name, path.read_bytes(), "video/mp4")},
        data=fields,
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def count_rows(database: Database, table: str) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def skip_unless_required(reason: str) -> None:
    """Skip with the reason; in CI (PLAYBACK_REQUIRE_SERVICES=1) a missing service fails."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PLAYBACK_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        pytest.skip("PLAYBACK_TEST_DATABASE_URL is not set: PostgreSQL-only test skipped")
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        skip_unless_required("PLAYBACK_TEST_REDIS_URL is not set: Redis test skipped")
    return REDIS_URL
