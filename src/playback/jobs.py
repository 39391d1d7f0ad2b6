"""Background jobs (Huey).

Embedded mode keeps the queue in SQLite under the data directory and runs a consumer inside the
``playback serve`` process; with ``PLAYBACK_REDIS_URL`` the queue lives in Redis and any number of
``playback worker`` processes consume it. Tasks take ids, are idempotent, and are enqueued only
after the surrounding transaction commits (:func:`enqueue`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from huey import Huey
from huey.api import TaskWrapper
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from playback.config import Settings, get_settings
from playback.db import after_commit

huey = Huey("playback", utc=True, immediate=True, storage_class=MemoryStorage)
"""The task registry. Its storage is chosen by :func:`configure_jobs` from the settings."""

_configured_for: Settings | None = None
_lock = threading.Lock()


def configure_jobs(settings: Settings, *, immediate: bool = False) -> Huey:
    """Point the queue at SQLite (embedded) or Redis. ``immediate`` runs tasks inline (tests)."""
    global _configured_for  # noqa: PLW0603
    with _lock:
        huey.immediate = immediate
        if not immediate:
            if settings.redis_url:
                huey.storage = RedisStorage(settings.jobs_queue, url=settings.redis_url)
            else:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                huey.storage = SqliteStorage(
                    "playback", filename=str(settings.data_dir / "jobs.db")
                )
        _configured_for = settings
    return huey


def _ensure_configured() -> None:
    if _configured_for is None:
        configure_jobs(get_settings())


def enqueue(session: Session, task: TaskWrapper, *args: Any, **kwargs: Any) -> None:
    """Send ``task(*args)`` once ``session`` commits; nothing is sent if it rolls back."""
    _ensure_configured()
    after_commit(session, lambda: task(*args, **kwargs))


class InProcessConsumer(Consumer):
    """A consumer living in the web server's process: Uvicorn owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


_startup_hooks: list[Callable[[], None]] = []


def on_consumer_start(fn: Callable[[], None]) -> Callable[[], None]:
    """Register work a consumer does once before it starts (e.g. rescue stalled jobs)."""
    _startup_hooks.append(fn)
    return fn


def start_consumer(workers: int, *, in_process: bool) -> Consumer:
    _ensure_configured()
    for hook in _startup_hooks:
        try:
            hook()
        except Exception:  # a failing hook must not keep the consumer from starting
            structlog.get_logger("playback.jobs").exception("consumer_start_hook_failed")
    cls = InProcessConsumer if in_process else Consumer
    return cls(huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=True)


# Register every domain's tasks with the queue.
def load_tasks() -> None:
    from playback.accounts import tasks as _accounts_tasks  # noqa: F401
    from playback.analytics import tasks as _analytics_tasks  # noqa: F401
    from playback.engagement import tasks as _engagement_tasks  # noqa: F401
    from playback.lifecycle import tasks as _lifecycle_tasks  # noqa: F401
    from playback.media import tasks as _media_tasks  # noqa: F401
    from playback.recsys import tasks as _recsys_tasks  # noqa: F401
    from playback.safety import tasks as _safety_tasks  # noqa: F401
    from playback.sounds import tasks as _sounds_tasks  # noqa: F401
