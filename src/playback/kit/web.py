"""Request plumbing shared by every domain's routes: the unit of work and app services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from playback.config import Settings
from playback.db import Database
from playback.safety.ratelimit import RateLimiter
from playback.storage import Storage

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, before the response is
    sent, so a failed commit is an error response and never a false success."""
    database: Database = request.app.state.database
    with database.unit_of_work(write=request.method not in SAFE_METHODS) as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


DB = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppStorage = Annotated[Storage, Depends(get_storage)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]
