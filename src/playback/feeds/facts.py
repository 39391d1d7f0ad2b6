"""What never changes about a video once published — its creator, its sound, its duration and
its hashtags (the caption is set at upload) — kept by each process for the For You pipeline,
which reads them for hundreds of videos per page. Callers ask only for videos that are published
(watched, liked, or just filtered as ready).

Only these facts are kept. Whatever can change — status, visibility, a muted sound, the
creator's privacy, blocks, the counts — is read from the database on every page
(``ranking.load_items``). Should a video's sound be removed (its origin erased), a kept fact
only steers a ranking, never what may be shown.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.media.models import Video, VideoHashtag

MAX_VIDEOS = 200_000  # about 50 MB of facts per process; the least recently used go first


@dataclass(frozen=True, slots=True)
class Facts:
    id: uuid.UUID
    creator_id: uuid.UUID
    sound_id: uuid.UUID | None
    duration_ms: int
    tags: tuple[uuid.UUID, ...]  # in caption order


class FactsCache:
    def __init__(self, max_videos: int = MAX_VIDEOS) -> None:
        self.max_videos = max_videos
        # One LRU per database (a process may serve several).
        self._facts: dict[str, OrderedDict[uuid.UUID, Facts]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._facts.clear()

    def get(self, db: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Facts]:
        """The facts of the videos among ``ids`` that exist (missing ones read in one go)."""
        url = str(db.get_bind().engine.url)
        found: dict[uuid.UUID, Facts] = {}
        missing: list[uuid.UUID] = []
        with self._lock:
            kept = self._facts.setdefault(url, OrderedDict())
            for vid in ids:
                fact = kept.get(vid)
                if fact is None:
                    missing.append(vid)
                else:
                    kept.move_to_end(vid)
                    found[vid] = fact
        if missing:
            loaded = _load(db, missing)
            found.update(loaded)
            with self._lock:
                kept = self._facts.setdefault(url, OrderedDict())
                kept.update(loaded)
                while len(kept) > self.max_videos:
                    kept.popitem(last=False)
        return found


_TAGS = sa.select(VideoHashtag.video_id, VideoHashtag.hashtag_id, VideoHashtag.position).where(
    VideoHashtag.video_id.in_(sa.bindparam("ids", expanding=True))
)
_VIDEOS = sa.select(Video.id, Video.creator_id, Video.sound_id, Video.duration_ms).where(
    Video.id.in_(sa.bindparam("ids", expanding=True))
)


def _load(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Facts]:
    tags: dict[uuid.UUID, list[tuple[int, uuid.UUID]]] = {}
    for vid, tag, position in db.execute(_TAGS, {"ids": ids}):
        tags.setdefault(vid, []).append((position, tag))
    return {
        vid: Facts(
            vid,
            creator_id,
            sound_id,
            duration_ms or 0,
            tuple(tag for _, tag in sorted(tags.get(vid, []))),
        )
        for vid, creator_id, sound_id, duration_ms in db.execute(_VIDEOS, {"ids": ids})
    }


facts = FactsCache()
