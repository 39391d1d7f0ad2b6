"""Engagement jobs: folding counter deltas into the cached counts (and telling creators about
their likes and milestones while doing so)."""

from __future__ import annotations

from huey import crontab

from playback.db import get_database
from playback.engagement.reconcile import do_flush_all
from playback.jobs import huey


@huey.task(retries=3, retry_delay=2)
def flush_counters() -> int:
    return do_flush_all(get_database())


@huey.periodic_task(crontab(minute="*"))
def flush_counters_periodically() -> int:
    return do_flush_all(get_database())
