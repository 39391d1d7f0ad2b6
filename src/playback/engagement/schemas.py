"""Engagement request and response bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class LikeState(BaseModel):
    liked: bool
    like_count: int | None = Field(
        description="null when the video's creator hides its like count from you"
    )
    likes_hidden: bool = False

    @classmethod
    def of(cls, *, liked: bool, like_count: int | None) -> LikeState:
        return cls(liked=liked, like_count=like_count, likes_hidden=like_count is None)


class SaveState(BaseModel):
    saved: bool
    save_count: int


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Annotated[StrictStr, Field(max_length=20, examples=["link", "whatsapp"])] = "link"


class ShareOut(BaseModel):
    share_url: str
    share_count: int


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    watched_ms: Annotated[StrictInt, Field(ge=0, le=2**31 - 1, examples=[3500])]
    source: Annotated[StrictStr, Field(max_length=16, examples=["for_you", "profile"])]


class ViewOut(BaseModel):
    counted: bool
    watched_ms: int
    view_count: int
