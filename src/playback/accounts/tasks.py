"""Account jobs: the daily sweep of expired login sessions."""

from __future__ import annotations

from huey import crontab

from playback.accounts import service
from playback.db import get_database
from playback.jobs import huey


@huey.periodic_task(crontab(hour="3", minute="17"), retries=3, retry_delay=60)
def purge_expired_sessions() -> int:
    with get_database().unit_of_work() as db:
        return service.do_purge_expired_sessions(db)
