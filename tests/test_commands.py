"""The ``playback`` command: migrate, demo seeding, a real ``serve`` process, and jobs worked off
by the in-process consumer (SQLite queue) and by ``playback worker`` (Redis queue)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from playback import jobs
from playback.accounts import service, tasks
from playback.cli import cli
from playback.config import Settings
from playback.db import Database
from playback.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from playback.kit.time import utcnow
from tests.conftest import PG_URL, count_rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_migrate_creates_the_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PLAYBACK_DATABASE_URL", raising=False)
    from playback import config, db

    config.set_settings(None)
    db.set_database(None)
    try:
        result = CliRunner().invoke(cli, ["migrate"])
    finally:
        config.set_settings(None)
        db.set_database(None)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'playback.db'}")
    assert "users" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()


def test_demo_seeding_is_idempotent_and_logins_work(database: Database) -> None:
    with database.unit_of_work() as db:
        first = seed_demo(db)
    with database.unit_of_work() as db:
        second = seed_demo(db)
    assert first == second
    assert count_rows(database, "users") == len(DEMO_ACCOUNTS)
    with database.unit_of_work() as db:
        teen = service.get_user_by_handle(db, "jun.teen")
        assert teen is not None and teen.private
        from playback.accounts.passwords import verify_password

        assert verify_password(teen.password_hash, DEMO_PASSWORD)


def test_demo_videos_without_shared_media_are_made_on_the_spot(
    database: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playback.demo import (
        DEMO_REMIXES,
        DEMO_TRACKS,
        DEMO_VIDEOS,
        seed_demo_catalog,
        seed_demo_remixes,
        seed_demo_videos,
    )
    from playback.storage import create_storage

    monkeypatch.delenv("PLAYBACK_DEMO_MEDIA", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared/media from here
    storage = create_storage(settings)
    with database.unit_of_work() as db:
        seed_demo(db)
    # The catalog arrives as an ERN delivery, once.
    assert seed_demo_catalog(database, storage, settings) == "imported"
    assert seed_demo_catalog(database, storage, settings) == "present"
    with database.engine.connect() as conn:
        titles = conn.execute(sa.text("SELECT title FROM sounds WHERE kind = 'track'")).scalars()
        assert sorted(titles) == sorted(t.title for t in DEMO_TRACKS)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM licences")).scalar() == len(DEMO_TRACKS)
    with database.unit_of_work() as db:
        assert seed_demo_videos(db, storage, settings) == len(DEMO_VIDEOS)
    with database.unit_of_work() as db:
        assert seed_demo_videos(db, storage, settings) == 0
    with database.engine.connect() as conn:
        statuses = conn.execute(sa.text("SELECT status FROM videos")).scalars().all()
    assert statuses == ["ready"] * len(DEMO_VIDEOS)  # jobs run inline in tests
    with database.engine.connect() as conn:
        captions = conn.execute(sa.text("SELECT caption FROM videos")).scalars().all()
    assert not any("Blender" in c or "NASA" in c for c in captions)  # no credit for made clips
    with database.engine.connect() as conn:
        playbacks = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM videos JOIN sounds ON sounds.id = videos.sound_id"
                " WHERE sounds.kind = 'track'"
            )
        ).scalar()
    assert playbacks == sum(1 for v in DEMO_VIDEOS if v.sound_isrc)
    with database.unit_of_work() as db:
        assert seed_demo_remixes(db, storage, settings) == len(DEMO_REMIXES)
    with database.unit_of_work() as db:
        assert seed_demo_remixes(db, storage, settings) == 0
    with database.engine.connect() as conn:
        kinds = conn.execute(
            sa.text(
                "SELECT remix_kind FROM videos WHERE status = 'ready' AND remix_kind IS NOT NULL"
            )
        ).scalars()
        assert sorted(kinds) == sorted(kind for _h, kind, _o in DEMO_REMIXES)


def _wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def _run_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "playback", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode()


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBACK_")}
    env["PLAYBACK_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_demo_command_serves_and_prints_logins(tmp_path: Path) -> None:
    port = free_port()
    proc = _run_server(["demo"], _clean_env(tmp_path), port)
    try:
        # The demo builds its world (catalog, videos, the trained model) before it serves: on a
        # busy two-core machine that can take minutes.
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc, seconds=240)
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/sessions",
            json={"handle": DEMO_ACCOUNTS[0].handle, "password": DEMO_PASSWORD},
        )
        assert response.status_code == 201
        assert httpx.get(f"http://127.0.0.1:{port}/signup").status_code == 200
        # The demo creators' videos are processed by the server's own job consumer.
        handle = DEMO_ACCOUNTS[0].handle
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            items = httpx.get(f"http://127.0.0.1:{port}/api/v1/users/{handle}/videos").json()[
                "items"
            ]
            if items:
                break
            time.sleep(0.5)
        assert items and items[0]["status"] == "ready"
        # A populated world: likes, follows and a For You feed for logged-out visitors.
        profile = httpx.get(f"http://127.0.0.1:{port}/api/v1/users/{handle}").json()
        assert profile["total_likes"] > 0 and profile["follower_count"] > 0
        feed = httpx.get(f"http://127.0.0.1:{port}/api/v1/feeds/for-you").json()["items"]
        assert len(feed) >= 3
    finally:
        output = _stop(proc)
    assert f"http://127.0.0.1:{port}/" in output
    for account in DEMO_ACCOUNTS:
        assert account.handle in output
    assert DEMO_PASSWORD in output
    assert (tmp_path / "data" / "playback.db").exists()
    assert (tmp_path / "data" / "secret_key").exists()


def test_serve_works_jobs_off_in_process(tmp_path: Path) -> None:
    """Embedded mode: a job put on the SQLite queue is done by the server's own consumer."""
    port = free_port()
    env = _clean_env(tmp_path)
    proc = _run_server(["serve"], env, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        base = f"http://127.0.0.1:{port}"
        signup = httpx.post(
            f"{base}/api/v1/accounts",
            json={
                "handle": "maya",
                "password": "long-password",
                "birthdate": "1990-05-05",
                "country": "DE",
            },
        )
        assert signup.status_code == 201
        assert (
            httpx.post(
                f"{base}/api/v1/sessions", json={"handle": "maya", "password": "long-password"}
            ).status_code
            == 201
        )
        settings = Settings(data_dir=tmp_path / "data")
        database = Database(settings)
        with database.engine.begin() as conn:  # make the session expired
            conn.execute(
                sa.text("UPDATE sessions SET expires_at = :t"),
                {"t": (utcnow() - dt.timedelta(days=1)).replace(tzinfo=None)},
            )
        jobs.configure_jobs(settings)
        try:
            tasks.purge_expired_sessions()
            deadline = time.monotonic() + 30
            while count_rows(database, "sessions") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert count_rows(database, "sessions") == 0
        finally:
            jobs.configure_jobs(settings, immediate=True)
            database.dispose()
    finally:
        _stop(proc)


@pytest.mark.redis
def test_worker_processes_jobs_from_redis(
    tmp_path: Path, redis_url: str, database: Database, settings: Settings
) -> None:
    """Production mode: the API only enqueues; a separate ``playback worker`` works it off."""
    env = _clean_env(tmp_path)
    env["PLAYBACK_REDIS_URL"] = redis_url
    env["PLAYBACK_DATABASE_URL"] = settings.database_url or ""
    env["PLAYBACK_SECRET_KEY"] = "test-secret-key"
    queue = f"playback-test-{uuid.uuid4().hex[:8]}"  # nobody else's worker takes our job
    env["PLAYBACK_JOBS_QUEUE"] = queue
    with database.unit_of_work() as db:
        user = service.do_signup(
            db,
            handle="worker.test",
            password="long-password",
            birthdate=dt.date(1990, 1, 1),
            country="DE",
        )
        db.flush()
        from playback.accounts.models import AuthSession
        from playback.kit.ids import new_id

        db.add(
            AuthSession(
                id=new_id(),
                user_id=user.id,
                token_hash="0" * 64,
                kind="api",
                expires_at=utcnow() - dt.timedelta(days=1),
                last_used_at=utcnow(),
            )
        )
    redis_settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url, jobs_queue=queue)
    jobs.configure_jobs(redis_settings)
    jobs.huey.flush()
    try:
        tasks.purge_expired_sessions()
        assert jobs.huey.pending_count() == 1
        worker = subprocess.Popen(
            [sys.executable, "-m", "playback", "worker", "--workers", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while count_rows(database, "sessions") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert count_rows(database, "sessions") == 0
        finally:
            _stop(worker)
    finally:
        jobs.huey.flush()
        jobs.configure_jobs(settings, immediate=True)


def test_postgres_url_is_used_when_given(pg_url: str) -> None:
    assert PG_URL
    settings = Settings(database_url=pg_url, secret_key="x")
    database = Database(settings)
    try:
        assert database.engine.dialect.name == "postgresql"
    finally:
        database.dispose()
