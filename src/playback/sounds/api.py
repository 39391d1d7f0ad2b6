"""Sound routes: a sound's page and its videos, trending sounds, sound search, and an original
sound's reuse switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from playback.accounts.auth import CurrentUser, OptionalUser
from playback.errors import error_responses
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage
from playback.sounds import service
from playback.sounds.cards import sound_cards, sound_video_page
from playback.sounds.schemas import (
    SoundOut,
    SoundPage,
    SoundPatch,
    SoundVideoPage,
    TrendingSoundOut,
    TrendingSounds,
)

router = APIRouter(prefix="/api/v1", tags=["sounds"])
PAGE_SIZE = 24


@router.get("/sounds", response_model=SoundPage, responses=error_responses(422))
def search_sounds(
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    q: Annotated[str, Query(max_length=service.SEARCH_MAX)],
) -> SoundPage:
    """Sounds by title or artist (tracks) or creator handle (original sounds), most used first."""
    sounds = service.search_sounds(db, viewer, q, limit=PAGE_SIZE)
    return SoundPage(items=sound_cards(db, storage, sounds, viewer))


@router.get("/sounds/trending", response_model=TrendingSounds)
def trending_sounds(
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> TrendingSounds:
    """Sounds whose use grows fastest against their own baseline, over 24 hours and 7 days."""
    trends = service.list_trending(db, viewer, limit=limit)
    cards = sound_cards(db, storage, [t.sound for t in trends], viewer)
    return TrendingSounds(
        items=[
            TrendingSoundOut(
                sound=card,
                uses_24h=t.uses_24h,
                uses_7d=t.uses_7d,
                growth_24h=t.growth_24h,
                growth_7d=t.growth_7d,
            )
            for t, card in zip(trends, cards, strict=True)
        ]
    )


@router.get("/sounds/{sound_id}", response_model=SoundOut, responses=error_responses(404))
def get_sound(sound_id: str, viewer: OptionalUser, db: DB, storage: AppStorage) -> SoundOut:
    """A sound: title, artist or origin creator, cover, duration, how many videos use it and
    their total views, and whether the viewer may use it now."""
    sound = service.access_sound(db, require_id(sound_id, "sound"), viewer)
    return sound_cards(db, storage, [sound], viewer)[0]


@router.patch(
    "/sounds/{sound_id}",
    response_model=SoundOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
def patch_sound(
    sound_id: str, body: SoundPatch, user: CurrentUser, db: DB, storage: AppStorage
) -> SoundOut:
    """The creator of an original sound lets others use it, or stops them (videos already
    made with it keep it)."""
    sound = service.access_sound(db, require_id(sound_id, "sound"), user)
    service.do_set_reuse(db, sound, user, body.reuse_allowed)
    return sound_cards(db, storage, [sound], user)[0]


@router.get(
    "/sounds/{sound_id}/videos", response_model=SoundVideoPage, responses=error_responses(400, 404)
)
def list_sound_videos(
    sound_id: str,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> SoundVideoPage:
    """The videos made with a sound, most viewed first (cursor-paginated)."""
    sound = service.access_sound(db, require_id(sound_id, "sound"), viewer)
    items, next_cursor = sound_video_page(db, storage, settings, sound, viewer, cursor)
    return SoundVideoPage(items=items, next_cursor=next_cursor)
