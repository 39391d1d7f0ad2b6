"""Lifecycle jobs: the hourly sweep of accounts due for erasure, and the erasure itself."""

from __future__ import annotations

import uuid

from huey import crontab

from playback.config import get_settings
from playback.db import get_database
from playback.jobs import huey
from playback.lifecycle import erasure, export
from playback.storage import create_storage


@huey.task(retries=5, retry_delay=60, retry_backoff=2)
def erase_account(user_id: str) -> bool:
    """Erase one account whose grace period is over (resumes a half-done erasure)."""
    database = get_database()
    with database.unit_of_work() as db:
        if not erasure.do_claim(db, uuid.UUID(user_id)):
            return False
    result = erasure.do_erase(database, create_storage(get_settings()), uuid.UUID(user_id))
    return result.done


@huey.periodic_task(crontab(minute="7"))
def erase_due_accounts() -> int:
    """Every hour: queue the erasure of every account whose grace period is over."""
    with get_database().unit_of_work(write=False) as db:
        due = erasure.list_due(db)
    for user_id in due:
        erase_account(str(user_id))
    return len(due)


@huey.task(retries=3, retry_delay=30, retry_backoff=2)
def build_export(export_id: str) -> str:
    settings = get_settings()
    return export.do_build_export(
        get_database(), create_storage(settings), settings, uuid.UUID(export_id)
    )


@huey.periodic_task(crontab(minute="37"))
def sweep_expired_exports() -> int:
    """Every hour: exports past their days go, files and rows."""
    return export.do_sweep_expired(get_database(), create_storage(get_settings()))
