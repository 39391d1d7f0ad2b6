"""Sound jobs: every day, keep published videos in step with their tracks' licences."""

from __future__ import annotations

import structlog
from huey import crontab

from playback.db import Database, get_database
from playback.jobs import enqueue, huey
from playback.sounds import service

log = structlog.get_logger("playback.sounds")


def run_enforcement(database: Database) -> service.Enforcement:
    """Restore tracks that are licensed again, and queue a mute for every video whose track
    lost its licence (the mute itself is media work, one job per video)."""
    from playback.media.tasks import mute_video

    with database.unit_of_work() as db:
        result = service.do_enforce_licences(db)
        for video_id in result.to_mute:
            enqueue(db, mute_video, str(video_id))
    log.info("licences_enforced", to_mute=len(result.to_mute), restored=result.restored)
    return result


@huey.periodic_task(crontab(hour="3", minute="15"))
def enforce_licences() -> int:
    """Daily, after midnight UTC when licences start and end."""
    result = run_enforcement(get_database())
    return len(result.to_mute) + result.restored
