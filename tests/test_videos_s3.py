"""The whole video path on S3-compatible storage (moto's standalone server): upload, process,
deliver through presigned URLs, delete every object."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from playback.app import create_app
from playback.config import Settings
from playback.db import Database
from playback.storage import S3Storage
from tests import media_corpus
from tests.conftest import signup_and_login
from tests.s3 import MotoS3, moto_s3  # noqa: F401


@pytest.fixture
def s3_client(settings: Settings, database: Database, moto_s3: MotoS3) -> Iterator[TestClient]:  # noqa: F811
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    settings.storage_url = f"s3://{moto_s3.bucket}/{prefix}"
    for name, value in moto_s3.settings().items():
        setattr(settings, name, value)
    with TestClient(create_app(settings, database=database)) as client:
        yield client


def test_upload_process_play_and_delete_on_s3(s3_client: TestClient, tmp_path: Path) -> None:
    storage = s3_client.app.state.storage  # type: ignore[attr-defined]
    assert isinstance(storage, S3Storage)
    _, headers = signup_and_login(s3_client, "maya")
    clip = media_corpus.make_clip(
        tmp_path, width=320, height=180, seconds=1.5, fps=24, codec="libvpx-vp9", container="webm"
    )
    response = s3_client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/webm")},
        headers=headers,
    )
    assert response.status_code == 202
    video = s3_client.get(f"/api/v1/videos/{response.json()['id']}").json()
    assert video["status"] == "ready"
    # Delivery goes straight to the object store through presigned URLs.
    assert video["video_url"].startswith(storage.client.meta.endpoint_url)
    played = httpx.get(video["video_url"], headers={"Range": "bytes=0-1023"}, trust_env=False)
    assert played.status_code == 206 and len(played.content) == 1024
    assert played.content[4:8] == b"ftyp"
    poster = httpx.get(video["poster_url"], trust_env=False)
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"
    assert len(list(storage.list_keys("videos/"))) == 3

    assert s3_client.delete(f"/api/v1/videos/{video['id']}", headers=headers).status_code == 204
    assert list(storage.list_keys("videos/")) == []


def test_bad_media_leaves_nothing_on_s3(s3_client: TestClient, tmp_path: Path) -> None:
    storage = s3_client.app.state.storage  # type: ignore[attr-defined]
    _, headers = signup_and_login(s3_client, "maya")
    bad = media_corpus.make_truncated_mp4(tmp_path)
    response = s3_client.post(
        "/api/v1/videos", files={"file": (bad.name, bad.read_bytes(), "video/mp4")}, headers=headers
    )
    assert response.status_code == 422
    assert list(storage.list_keys("")) == []
