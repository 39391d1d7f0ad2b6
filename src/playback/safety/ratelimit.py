"""Rate limits with two backends behind one interface: in-process (embedded) and Redis (many
servers share one count).

Limits count events in fixed windows: ``check`` refuses once ``limit`` events were recorded in the
current window for a key, ``record`` counts one, ``reset`` forgets a key (a successful login).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

from playback.errors import TooManyRequests


class RateLimiter(Protocol):
    def count(self, key: str) -> tuple[int, int]:
        """Events in the current window and the seconds until it ends."""
        ...

    def record(self, key: str, window_seconds: int) -> int:
        """Count one event; return the window's count including it."""
        ...

    def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float]] = {}

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            self._windows.pop(key, None)
            return None
        return entry

    def count(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                return 0, 0
            return entry[0], max(1, int(entry[1] - now + 0.999))

    def record(self, key: str, window_seconds: int) -> int:
        now = time.monotonic()
        with self._lock:
            if len(self._windows) > 100_000:  # bound memory: drop ended windows
                for k in [k for k, (_, end) in self._windows.items() if end <= now]:
                    del self._windows[k]
            entry = self._live(key, now)
            count, ends = (entry[0] + 1, entry[1]) if entry else (1, now + window_seconds)
            self._windows[key] = (count, ends)
            return count

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


class RedisRateLimiter:
    def __init__(self, url: str, prefix: str = "playback:rl:") -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def count(self, key: str) -> tuple[int, int]:
        pipe = self.client.pipeline()
        pipe.get(self.prefix + key)
        pipe.ttl(self.prefix + key)
        raw, ttl = pipe.execute()
        if raw is None:
            return 0, 0
        return int(raw), max(1, int(ttl))

    def record(self, key: str, window_seconds: int) -> int:
        pipe = self.client.pipeline()
        pipe.incr(self.prefix + key)
        # NX: the window is set by the first event and not extended by later ones.
        pipe.expire(self.prefix + key, window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def check_limit(limiter: RateLimiter, key: str, limit: int, message: str | None = None) -> None:
    """Raise 429 with ``Retry-After`` once ``key`` has used up ``limit`` in its window."""
    count, retry_after = limiter.count(key)
    if count >= limit:
        raise TooManyRequests(retry_after, message)


def create_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
