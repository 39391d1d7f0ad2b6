"""Rate limits with two backends behind one interface: in-process (embedded) and Redis (many
servers share one count).

Limits count events in fixed windows: ``check`` refuses once ``limit`` events were recorded in the
current window for a key, ``record`` counts one, ``reset`` forgets a key (a successful login).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ActionLimit:
    """How often one account and one address may do an action in a window (0: unlimited)."""

    per_account: int
    per_address: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> ActionLimit:
        """``"<per account>/<per address>/<window seconds>"``, as in the settings."""
        parts = text.split("/")
        try:
            account, address, window = (int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"a limit is <per account>/<per address>/<seconds>, not {text!r}"
            ) from None
        if min(account, address) < 0 or window <= 0:
            raise ValueError(
                f"a limit is <per account>/<per address>/<seconds>, counts from 0 and a window "
                f"of 1 second or more, not {text!r}"
            )
        return cls(account, address, window)


def check_action(
    limiter: RateLimiter,
    action: str,
    limit: ActionLimit,
    *,
    account: str | None,
    address: str | None,
) -> None:
    """Count one ``action`` by an account and from an address, or refuse it with 429 (and
    ``Retry-After``) when either has used up its window — before anything is done."""
    keys = []
    if account is not None and limit.per_account:
        keys.append((f"{action}:account:{account}", limit.per_account))
    if address is not None and limit.per_address:
        keys.append((f"{action}:ip:{address}", limit.per_address))
    for key, most in keys:
        check_limit(limiter, key, most, "You are doing that too often. Try again later.")
    for key, _ in keys:
        limiter.record(key, limit.window_seconds)


def check_limit(limiter: RateLimiter, key: str, limit: int, message: str | None = None) -> None:
    """Raise 429 with ``Retry-After`` once ``key`` has used up ``limit`` in its window."""
    count, retry_after = limiter.count(key)
    if count >= limit:
        raise TooManyRequests(retry_after, message)


def create_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
