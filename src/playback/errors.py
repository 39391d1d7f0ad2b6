"""Domain errors and the one error shape every client sees.

Services raise these; a single set of handlers turns them (and validation errors, unknown routes,
oversized bodies) into ``{"error": {"code": "...", "message": "..."}}`` with a stable code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request cannot be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(DomainError):
    status_code = 400


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
    message = "Log in to do this."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message = "You may not do this."


class NotFound(DomainError):
    """A missing thing, or one the caller may not see: both answer 404 so nothing leaks."""

    status_code = 404

    def __init__(self, thing: str = "resource", message: str | None = None) -> None:
        super().__init__(
            message or f"No such {thing.replace('_', ' ')}.", code=f"{thing}_not_found"
        )


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    """A well-formed request whose values break a rule (422)."""

    status_code = 422
    code = "validation_error"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "body_too_large"
    message = "The request body is too large."


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"
    message = "Too many attempts. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class FieldError(BaseModel):
    loc: list[str]
    type: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorBody(BaseModel):
    """The error shape, documented in the OpenAPI document for every route."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each listed status documented with the error shape."""
    descriptions = {
        400: "Bad request (malformed JSON or form data, bad cursor)",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid values",
        429: "Rate limited",
    }
    return {s: {"model": ErrorBody, "description": descriptions.get(s, "Error")} for s in statuses}
