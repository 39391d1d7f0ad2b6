"""Operations: health, metrics, structured logs, settings and the secret key."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from playback.config import Settings
from playback.kit.observability import RequestObservabilityMiddleware


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


def test_healthz_reports_a_dead_database(tmp_path: Path) -> None:
    from playback.app import create_app
    from playback.db import Database

    settings = Settings(
        data_dir=tmp_path,
        secret_key="k",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    app = create_app(settings, database=Database(settings))
    with TestClient(app) as c:
        response = c.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/users/someone")
    client.get("/api/v1/users/someone-else")
    text = client.get("/metrics").text
    assert "playback_http_requests_total" in text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("playback_http_requests_total{")
        and 'route="/api/v1/users/{handle}"' in row
        and 'status="404"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "playback_http_request_duration_seconds_bucket" in text
    assert "someone-else" not in text  # templates, not raw paths: bounded label values


def test_every_request_is_logged_with_a_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="playback.http")
    response = client.get("/api/v1/users/nobody?secret=1")
    request_id = response.headers["x-request-id"]
    records = [r for r in caplog.records if r.name == "playback.http"]
    event = records[-1].msg
    assert isinstance(event, dict)
    assert event["request_id"] == request_id
    assert event["status"] == 404 and event["route"] == "/api/v1/users/{handle}"
    assert "secret" not in json.dumps(event)  # query strings are never logged
    assert RequestObservabilityMiddleware is not None


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key
    second = Settings(data_dir=tmp_path).resolved_secret_key
    assert first == second and len(first) >= 40
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_production_requires_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBACK_ENV", "production")
    monkeypatch.delenv("PLAYBACK_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="PLAYBACK_SECRET_KEY"):
        Settings(data_dir=tmp_path)
    monkeypatch.setenv("PLAYBACK_SECRET_KEY", "s3cret-from-the-vault")
    assert Settings(data_dir=tmp_path).resolved_secret_key == "s3cret-from-the-vault"
    assert not (tmp_path / "secret_key").exists()


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBACK_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PLAYBACK_DATABASE_URL", "postgres://u@db:5432/playback")
    monkeypatch.setenv("PLAYBACK_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("PLAYBACK_STORAGE_URL", "s3://bucket/prefix")
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@db:5432/playback"
    assert not settings.embedded_database and not settings.embedded_jobs
    assert settings.storage_url == "s3://bucket/prefix"


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PLAYBACK_DATA_DIR",
        "PLAYBACK_DATABASE_URL",
        "PLAYBACK_REDIS_URL",
        "PLAYBACK_STORAGE_URL",
        "PLAYBACK_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.data_dir == Path("playback-data")
    assert settings.embedded_database and settings.embedded_jobs
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'playback-data' / 'playback.db'}"
