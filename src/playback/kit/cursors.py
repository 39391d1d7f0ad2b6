"""Opaque, signed pagination cursors. A client can only hand back a cursor we issued: anything
forged, truncated or from another list is refused with 400 ``invalid_cursor``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from playback.config import get_settings
from playback.errors import BadRequest
from playback.kit.ids import parse_id

T = TypeVar("T")


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


def decode_before_id(scope: str, cursor: str | None) -> uuid.UUID | None:
    """The ``before`` id of an id-keyset cursor (None on the first page)."""
    position = decode_cursor(scope, cursor)
    if position is None:
        return None
    before = parse_id(str(position.get("before")))
    if before is None:
        raise InvalidCursor()
    return before


def split_page(
    rows: list[T], size: int, scope: str, position: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """Rows fetched with ``size + 1`` → the page and the cursor after its last row (None when
    there is nothing more)."""
    if len(rows) <= size:
        return rows, None
    page = rows[:size]
    return page, encode_cursor(scope, position(page[-1]))
