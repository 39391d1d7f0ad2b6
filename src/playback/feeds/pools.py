"""Candidate lists that are the same for every viewer — trending in a country, popular, fresh
uploads, a hashtag's or a sound's best recent videos, an account's newest — kept by each process
for a minute.

A list is computed on first use; once it is older than ``TTL`` the next reader still gets it at
once while one background thread computes its successor with a session of its own, so no page
waits for a shared list after the first. A page that needs many lists nobody asked for yet
computes the few most useful itself and has the others computed in the background.

The lists only *propose* videos: every page filters its candidates against the database afresh
(``ranking.load_items``), so a video made private, muted or blocked a moment ago never shows
because a list still names it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = structlog.get_logger("playback.feeds")

TTL = 60.0
MAX_ENTRIES = 5000  # lists kept per process (hashtags and sounds are many; the least used go)

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass
class _Entry(Generic[T]):
    value: T
    at: float
    refreshing: bool = False


class Pools:
    def __init__(
        self, ttl: float = TTL, max_entries: int = MAX_ENTRIES, *, background: bool = True
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.background = background  # False: everything is computed in the caller's thread
        self._entries: OrderedDict[tuple[str, Hashable], _Entry[object]] = OrderedDict()
        self._pending: set[tuple[str, Hashable]] = set()  # first computed in the background
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._pending.clear()

    def get(self, db: Session, key: Hashable, compute: Callable[[Session], T]) -> T:
        """The list under ``key``, computed by ``compute(session)``."""
        return self.get_many(db, [key], lambda s, _keys: {key: compute(s)})[key]

    def get_many(
        self,
        db: Session,
        keys: Sequence[K],
        compute: Callable[[Session, list[K]], dict[K, T]],
        *,
        at_most: int | None = None,
    ) -> dict[K, T]:
        """The lists under ``keys``; those not kept yet are computed together by
        ``compute(session, missing keys)`` (which answers every key it is given). With
        ``at_most``, only that many missing keys (the first: put the most useful first) are
        computed now; the others are left out of this answer and computed in the background
        for the next one."""
        url = str(db.get_bind().engine.url)  # one process may serve several databases
        found: dict[K, T] = {}
        missing: list[K] = []  # to compute now
        later: list[K] = []  # to compute in the background
        now = time.monotonic()
        with self._lock:
            for key in keys:
                entry = self._entries.get((url, key))
                if entry is not None:
                    self._entries.move_to_end((url, key))
                    found[key] = entry.value  # type: ignore[assignment]
                    if now - entry.at < self.ttl or entry.refreshing:
                        continue
                    if not self.background:
                        missing.append(key)
                        continue
                    entry.refreshing = True
                    later.append(key)
                elif (url, key) in self._pending:
                    continue  # being computed in the background: left out of this answer
                elif self.background and at_most is not None and len(missing) >= at_most:
                    self._pending.add((url, key))
                    later.append(key)
                else:
                    missing.append(key)
        if later:
            threading.Thread(
                target=self._refresh,
                args=(db.get_bind().engine, url, later, compute),
                daemon=True,
                name="feed-pool-refresh",
            ).start()
        if missing:
            computed = compute(db, missing)
            self._store(url, computed)
            found.update(computed)
        return found

    def _store(self, url: str, values: Mapping[K, object]) -> None:
        now = time.monotonic()
        with self._lock:
            for key, value in values.items():
                self._pending.discard((url, key))
                self._entries[(url, key)] = _Entry(value, now)
                self._entries.move_to_end((url, key))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _refresh(
        self,
        engine: Engine,
        url: str,
        keys: list[K],
        compute: Callable[[Session, list[K]], dict[K, T]],
    ) -> None:
        try:
            with Session(bind=engine) as own:
                values = compute(own, keys)
        except Exception:
            log.exception("feed_pool_refresh_failed", keys=[str(k) for k in keys[:5]])
            with self._lock:
                for key in keys:
                    self._pending.discard((url, key))
                    entry = self._entries.get((url, key))
                    if entry is not None:
                        entry.refreshing = False  # the next reader tries again
            return
        self._store(url, values)


pools = Pools()
