"""Sound pages and the recorder: a sound's page with its videos, trending sounds and sound
search, and ``/record``, where a creator makes a playback, a duet or a stitch in the browser."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.config import Settings
from playback.engagement.cards import video_cards
from playback.errors import DomainError
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage
from playback.media import service as media
from playback.media.schemas import VideoOut
from playback.media.service import MAX_STITCH_MS
from playback.sounds import service
from playback.sounds.cards import sound_cards, sound_video_page
from playback.sounds.models import DEFAULT_MAX_CLIP_MS
from playback.sounds.schemas import SoundOut
from playback.storage import Storage
from playback.web.pages import PageAuth, render

router = APIRouter(include_in_schema=False)
SEARCH_RESULTS = 24
TRENDING = 20
# Why a sound cannot be used, as the page says it (keys are SoundOut.unavailable_reason).
UNAVAILABLE = {
    "licence_unavailable": "This sound is not available in your country right now.",
    "sound_reuse_off": "Its creator doesn't let others use this sound.",
    "login_required": "Log in to use this sound.",
}


@router.get("/sounds", response_class=HTMLResponse)
def sounds_page(
    request: Request,
    db: DB,
    storage: AppStorage,
    auth: PageAuth,
    q: Annotated[str, Query(max_length=service.SEARCH_MAX)] = "",
) -> HTMLResponse:
    """Trending sounds, and sound search (``?q=``)."""
    viewer = auth.user if auth else None
    context: dict[str, Any] = {"q": q, "results": [], "trending": []}
    if q.strip():
        try:
            found = service.search_sounds(db, viewer, q, limit=SEARCH_RESULTS)
        except DomainError as exc:
            return render(
                request, "sounds.html", {**context, "error": exc}, status_code=exc.status_code
            )
        context["results"] = sound_cards(db, storage, found, viewer)
    else:
        trends = service.list_trending(db, viewer, limit=TRENDING)
        cards = sound_cards(db, storage, [t.sound for t in trends], viewer)
        context["trending"] = [
            {"sound": card, "uses_24h": t.uses_24h, "uses_7d": t.uses_7d}
            for t, card in zip(trends, cards, strict=True)
        ]
    return render(request, "sounds.html", context)


@router.get("/sounds/{sound_id}", response_class=HTMLResponse)
def sound_page(
    request: Request,
    sound_id: str,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    auth: PageAuth,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> HTMLResponse:
    """A sound: who made it, how much it is used, a preview, "Use this sound", and its videos,
    most viewed first (``?cursor=`` continues the list without JavaScript)."""
    viewer = auth.user if auth else None
    sound = service.access_sound(db, require_id(sound_id, "sound"), viewer)
    card = sound_cards(db, storage, [sound], viewer)[0]
    videos, next_cursor = sound_video_page(db, storage, settings, sound, viewer, cursor)
    return render(
        request,
        "sound.html",
        {
            "sound": card,
            "videos": videos,
            "next_cursor": next_cursor,
            "unavailable": UNAVAILABLE.get(card.unavailable_reason or ""),
            "is_origin": viewer is not None
            and card.origin is not None
            and card.origin.id == viewer.id,
        },
    )


@router.get("/record", response_class=HTMLResponse)
def record_page(
    request: Request,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    auth: PageAuth,
    sound: Annotated[str | None, Query(max_length=40)] = None,
    duet: Annotated[str | None, Query(max_length=40)] = None,
    stitch: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The recorder: with ``sound=`` (a playback), ``duet=`` or ``stitch=`` (a video), or
    alone (a clip with its own audio)."""
    if auth is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    viewer = auth.user
    context: dict[str, Any] = {"mode": "plain", "sound": None, "original": None, "blocked": None}
    if duet or stitch:
        mode = "duet" if duet else "stitch"
        context.update(_remix_context(db, storage, settings, viewer, mode, duet or stitch or ""))
    elif sound:
        card = sound_cards(
            db, storage, [service.access_sound(db, require_id(sound, "sound"), viewer)], viewer
        )[0]
        context.update(mode="sound", sound=card)
        if not card.usable:
            context["blocked"] = UNAVAILABLE.get(card.unavailable_reason or "")
    context["recorder"] = _recorder_config(context, settings)
    return render(request, "record.html", context)


def _remix_context(
    db: Session, storage: Storage, settings: Settings, viewer: User, mode: str, video_id: str
) -> dict[str, Any]:
    video, creator = media.access_video(db, require_id(video_id, "video"), viewer)
    original = video_cards(db, storage, settings, [(video, creator)], viewer)[0]
    blocked = None
    if original.status != "ready":
        blocked = "This video is not ready yet."
    elif mode == "duet" and not original.allow_duet:
        blocked = f"@{original.creator.handle} doesn't allow duets with this video."
    elif mode == "stitch" and not original.allow_stitch:
        blocked = f"@{original.creator.handle} doesn't allow stitches of this video."
    return {"mode": mode, "original": original, "blocked": blocked}


def _recorder_config(context: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """What recorder.js needs, as one JSON object in the page."""
    limit = min(DEFAULT_MAX_CLIP_MS, int(settings.video_max_seconds * 1000))
    config: dict[str, Any] = {
        "mode": context["mode"],
        "limit_ms": limit,
        "max_bytes": settings.video_max_bytes,
    }
    sound: SoundOut | None = context["sound"]
    original: VideoOut | None = context["original"]
    if sound is not None:
        config["sound"] = {
            "id": str(sound.id),
            "title": sound.title,
            "audio_url": sound.audio_url,
            "duration_ms": sound.duration_ms,
        }
        if sound.max_clip_ms:
            config["limit_ms"] = min(limit, sound.max_clip_ms)
    if original is not None:
        config["original"] = {
            "id": str(original.id),
            "handle": original.creator.handle,
            "video_url": original.video_url,
            "poster_url": original.poster_url,
            "duration_ms": original.duration_ms or 0,
        }
        if context["mode"] == "duet" and original.duration_ms:
            # A duet runs beside the whole original, and no longer.
            config["limit_ms"] = min(limit, max(1_000, original.duration_ms))
        config["max_stitch_ms"] = MAX_STITCH_MS
    return config
