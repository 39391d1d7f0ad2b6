"""Analytics jobs: the rollup of watch events, every minute."""

from __future__ import annotations

from huey import crontab

from playback.analytics.rollups import roll_all
from playback.db import get_database
from playback.jobs import huey


@huey.periodic_task(crontab(minute="*"))
def roll_up_watch_events() -> int:
    """Add the watch events of the last minute (less the rollup's lag) to the rollups; a run
    that finds another still at work waits for it (the state row is locked)."""
    return roll_all(get_database())
