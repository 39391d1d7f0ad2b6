"""Social response bodies."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class FollowState(BaseModel):
    status: str | None  # "accepted", "pending" or None (not following)
    follower_count: int


class AccountCard(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    avatar_url: str | None
    private: bool


class AccountPage(BaseModel):
    items: list[AccountCard]
    next_cursor: str | None
