"""A worker killed with SIGKILL in the middle of a transcode leaves no partial files, and the
video still becomes ready once a worker runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback import jobs
from playback.config import Settings
from playback.db import Database
from playback.kit.time import utcnow
from playback.media.models import Video
from tests import media_corpus
from tests.conftest import signup_and_login

SHARED_LONG_CLIP = media_corpus.SHARED_VIDEO_DIR / "moviepy_big_buck_bunny_0_30.webm"


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBACK_")}
    env.update(
        PLAYBACK_DATA_DIR=str(settings.data_dir),
        PLAYBACK_DATABASE_URL=settings.database_url or "",
        PLAYBACK_SECRET_KEY="test-secret-key",
        PLAYBACK_TRANSCODE_LEASE_SECONDS="3",
        PLAYBACK_TRANSCODE_THREADS="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "playback", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def queued_jobs(settings: Settings) -> Iterator[None]:
    """Jobs go to the SQLite queue in the data dir (as in `playback serve`), not run inline."""
    jobs.configure_jobs(settings)
    yield
    jobs.configure_jobs(settings, immediate=True)


def test_killed_worker_leaves_no_partial_files_and_the_video_recovers(
    client: TestClient, database: Database, settings: Settings, queued_jobs: None, tmp_path: Path
) -> None:
    _, headers = signup_and_login(client, "maya")
    if SHARED_LONG_CLIP.exists():
        source = SHARED_LONG_CLIP
    else:
        source = media_corpus.make_clip(
            tmp_path, width=1280, height=720, seconds=8, fps=30, codec="mpeg4", container="mkv"
        )
    response = client.post(
        "/api/v1/videos",
        files={"file": (source.name, source.read_bytes(), "video/webm")},
        headers=headers,
    )
    assert response.status_code == 202
    video_id = uuid.UUID(response.json()["id"])
    storage = client.app.state.storage  # type: ignore[attr-defined]
    originals = sorted(storage.list_keys("videos/"))
    assert len(originals) == 1

    def partial_output() -> bool:
        return any(p.stat().st_size > 0 for p in settings.work_dir.glob("job-*/video.mp4"))

    worker = _worker(settings)
    try:
        _wait(partial_output, 120, "the transcode to start writing")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    # Killed mid-transcode: nothing but the original in storage, the video still processing.
    assert sorted(storage.list_keys("videos/")) == originals
    assert not list(settings.media_dir.rglob(".tmp-*"))
    with database.unit_of_work() as db:
        video = db.get(Video, video_id)
        assert video is not None and video.status == "processing"

    def lease_expired() -> bool:
        with database.engine.connect() as conn:
            until = conn.execute(
                sa.select(Video.lease_until).where(Video.id == video_id)
            ).scalar_one()
        if until is None:
            return True
        from playback.kit.time import as_utc

        return as_utc(until) < utcnow()

    _wait(lease_expired, 30, "the dead worker's lease to run out")

    worker = _worker(settings)
    try:

        def ready() -> bool:
            with database.engine.connect() as conn:
                status = conn.execute(
                    sa.select(Video.status).where(Video.id == video_id)
                ).scalar_one()
            return bool(status != "processing")

        _wait(ready, 240, "the restarted worker to finish the video")
    finally:
        worker.terminate()
        worker.wait(30)

    with database.unit_of_work() as db:
        video = db.get(Video, video_id)
        assert video is not None and video.status == "ready", video.error_code
        assert video.attempts == 2
        keys = {video.original_key, video.video_key, video.poster_key}
    assert set(storage.list_keys("videos/")) == keys
    assert not list(settings.work_dir.glob("job-*"))
    assert not list(settings.media_dir.rglob(".tmp-*"))
