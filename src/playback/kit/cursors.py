"""Opaque, signed pagination cursors. A client can only hand back a cursor we issued: anything
forged, truncated or from another list is refused with 400 ``invalid_cursor``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from playback.config import get_settings
from playback.errors import BadRequest


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    message = "The cursor is invalid or expired."


def _key(scope: str) -> bytes:
    return hashlib.sha256(f"cursor:{scope}:{get_settings().resolved_secret_key}".encode()).digest()


def encode_cursor(scope: str, payload: dict[str, Any]) -> str:
    """A cursor for the list named ``scope`` (a cursor for one list is refused by another)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(_key(scope), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(sig + body).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str | None) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    if len(cursor) > 2048:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    sig, body = raw[:16], raw[16:]
    expected = hmac.new(_key(scope), body, hashlib.sha256).digest()[:16]
    if len(sig) != 16 or not hmac.compare_digest(sig, expected):
        raise InvalidCursor()
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise InvalidCursor() from exc
    if not isinstance(payload, dict):
        raise InvalidCursor()
    return payload
