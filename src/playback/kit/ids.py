"""Time-ordered ids (UUID version 7): sortable by creation, unguessable, safe in JSON as strings."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter that keeps ids made in
    the same millisecond by this process in order, then 62 random bits."""
    global _last_ms, _counter  # noqa: PLW0603 - process-wide monotonic state
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or the clock stepped back): keep counting from the last stamp.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave headroom to count
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand
    return uuid.UUID(int=value)


def id_timestamp_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds stamped into a UUIDv7."""
    return value.int >> 80


def require_id(text: str, thing: str) -> uuid.UUID:
    """The id in a URL, or ``<thing>_not_found``: a malformed id names nothing that exists."""
    from playback.errors import NotFound

    value = parse_id(text)
    if value is None:
        raise NotFound(thing)
    return value


def parse_id(text: str) -> uuid.UUID | None:
    """A UUID from client text, or None when it is not one (callers answer 404, not 500)."""
    try:
        return uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        return None
