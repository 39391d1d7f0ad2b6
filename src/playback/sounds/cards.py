"""Sound cards: a sound as pages and lists show it, built with a fixed number of queries."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.config import Settings
from playback.kit.cursors import InvalidCursor, decode_cursor, split_page
from playback.media.schemas import Creator, VideoOut
from playback.sounds import service
from playback.sounds.models import Sound
from playback.sounds.schemas import SoundOut
from playback.storage import Storage

DELETED_ACCOUNT = "a deleted account"


def original_title(origin: User | None) -> str:
    return f"original sound – @{origin.handle}" if origin else f"original sound – {DELETED_ACCOUNT}"


def sound_cards(
    db: Session, storage: Storage, sounds: list[Sound], viewer: User | None
) -> list[SoundOut]:
    figures = service.sound_figures(db, [s.id for s in sounds])
    origins = service.origin_users(db, sounds)
    labels = service.labels_of(db, sounds)
    uses = service.usabilities(db, sounds, viewer)
    cards = []
    for sound in sounds:
        origin = origins.get(sound.origin_user_id) if sound.origin_user_id else None
        use = uses[sound.id]
        label = labels.get(sound.label_id) if sound.label_id else None
        is_original = sound.kind == "original"
        cards.append(
            SoundOut(
                id=sound.id,
                kind=sound.kind,
                title=original_title(origin) if is_original else sound.title,
                artist=(origin.display_name if origin else "") if is_original else sound.artist,
                origin=Creator.of(origin, storage) if origin else None,
                origin_video_id=sound.origin_video_id,
                label=label.name if label else None,
                isrc=sound.isrc,
                credit=sound.credit,
                duration_ms=sound.duration_ms,
                cover_url=storage.url(sound.cover_key) if sound.cover_key else None,
                audio_url=storage.url(sound.audio_key) if use.usable else None,
                use_count=figures[sound.id].use_count,
                view_count=figures[sound.id].view_count,
                reuse_allowed=sound.reuse_allowed,
                usable=use.usable,
                unavailable_reason=use.reason,
                max_clip_ms=use.max_clip_ms,
            )
        )
    return cards


VIDEO_PAGE_SIZE = 24


def sound_video_page(
    db: Session,
    storage: Storage,
    settings: Settings,
    sound: Sound,
    viewer: User | None,
    cursor: str | None,
) -> tuple[list[VideoOut], str | None]:
    """A page of the sound's videos, most viewed first, and the cursor of the next page (the
    API and the sound page walk the same pages)."""
    from playback.engagement.cards import video_cards

    scope = f"sound-videos:{sound.id}"
    position = decode_cursor(scope, cursor)
    after = None
    if position is not None:
        try:
            after = (int(position["views"]), uuid.UUID(position["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
    rows = service.list_sound_videos(db, sound, viewer, after=after, limit=VIDEO_PAGE_SIZE + 1)
    rows, next_cursor = split_page(
        rows, VIDEO_PAGE_SIZE, scope, lambda row: {"views": row[0].view_count, "id": str(row[0].id)}
    )
    return video_cards(db, storage, settings, rows, viewer), next_cursor
