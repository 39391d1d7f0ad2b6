"""Caps request bodies: 1 MiB by default, larger only for the upload routes that ask for it."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, default_limit: int, upload_limits: list[tuple[str, int]]
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limits = [(re.compile(pattern), limit) for pattern, limit in upload_limits]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.upload_limits:
            if pattern.fullmatch(path):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _too_large(limit, send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through the framework's body parsing untouched
                    # and reaches our handler as a 413.
                    raise HTTPException(413, f"The request body is larger than {limit} bytes.")
            return message

        await self.app(scope, limited_receive, send)


async def _too_large(limit: int, send: Send) -> None:
    import json

    body = json.dumps(
        {
            "error": {
                "code": "body_too_large",
                "message": f"The request body is larger than {limit} bytes.",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
