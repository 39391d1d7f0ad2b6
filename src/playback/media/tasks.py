"""Media jobs: process a video, and the sweep that rescues videos whose worker died."""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from huey import crontab

from playback.config import get_settings
from playback.db import get_database
from playback.jobs import huey, on_consumer_start
from playback.media import processing
from playback.storage import create_storage

log = structlog.get_logger("playback.media")


@huey.task(retries=4, retry_delay=5, retry_backoff=2)
def process_video(video_id: str) -> str:
    settings = get_settings()
    return processing.do_process_video(
        get_database(), create_storage(settings), settings, uuid.UUID(video_id)
    )


@huey.task(retries=3, retry_delay=30, retry_backoff=2)
def mute_video(video_id: str) -> str:
    """Take a lapsed track out of a published video (see ``sounds.tasks.enforce_licences``)."""
    settings = get_settings()
    return processing.do_mute_video(
        get_database(), create_storage(settings), settings, uuid.UUID(video_id)
    )


@huey.periodic_task(crontab(minute="*"))
def recover_stalled_videos() -> int:
    """Every minute: hand processing videos that nobody holds back to the queue."""
    settings = get_settings()
    processing.clean_work_dir(settings)
    with get_database().unit_of_work(write=False) as db:
        stalled = processing.list_stalled(
            db, dt.timedelta(seconds=settings.transcode_lease_seconds)
        )
    for video_id in stalled:
        process_video(str(video_id))
    if stalled:
        log.info("stalled_videos_requeued", count=len(stalled))
    return len(stalled)


@on_consumer_start
def _recover_on_start() -> None:
    """A worker that starts after a crash picks up what its predecessor left at once."""
    recover_stalled_videos.call_local()
