"""The For You model learned from the platform's own events, and the copy each process serves.

Training (``playback recsys train``, and the ``train_recommender`` job every night) turns the
last ``WINDOW_DAYS`` of events into one signal per (viewer, video):

- watching: how much of the video the viewer watched in all (a finished video 1, two loops 2, up
  to ``MAX_LOOPS``), so completions and replays count, a fast swipe almost nothing;
- likes +2, saves +1, comments +2, shares +3 (logged-in viewers);
- "not interested": −2 (the model learns what goes badly together, too).

and fits the same item-to-item model the offline evaluation uses (``models.fit_matrix``) on the
``max_items`` videos with the most distinct viewers (a dense model grows with the square of its
items). The model is saved atomically to ``<data dir>/recsys/model.npz``; serving processes
notice a new file by its modification time and load it once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from playback.config import Settings
from playback.db import Database
from playback.engagement.models import Comment, Like, NotInterested, Save, Share, WatchEvent
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.recsys.models import Model, Params, Progress, fit_matrix

log = structlog.get_logger("playback.recsys")

WINDOW_DAYS = 60
MAX_LOOPS = 3.0
ACTION_WEIGHTS = {"like": 2.0, "save": 1.0, "comment": 2.0, "share": 3.0, "not_interested": -2.0}
DEFAULT_MAX_ITEMS = 5_000  # 100 MB of weights, trained in seconds on two cores
MIN_ITEMS = 2


def model_path(settings: Settings) -> Path:
    return settings.data_dir / "recsys" / "model.npz"


@dataclass(frozen=True)
class PlatformData:
    matrix: sp.csr_matrix  # viewers × videos, signal values
    item_ids: list[uuid.UUID]
    viewers: int
    events: int


def collect(db: Session, *, max_items: int, now: dt.datetime | None = None) -> PlatformData:
    """The signal of every (viewer, video) pair of the window, for the most watched videos."""
    since = (now or utcnow()) - dt.timedelta(days=WINDOW_DAYS)
    signal: dict[tuple[str, uuid.UUID], float] = defaultdict(float)
    events = 0
    watched = db.execute(
        sa.select(
            WatchEvent.viewer_key,
            WatchEvent.video_id,
            sa.func.sum(WatchEvent.watched_ms),
            sa.func.count(),
            Video.duration_ms,
        )
        .join(Video, Video.id == WatchEvent.video_id)
        .where(WatchEvent.created_at > since)
        .group_by(WatchEvent.viewer_key, WatchEvent.video_id, Video.duration_ms)
    )
    for viewer_key, video_id, total_ms, count, duration_ms in watched:
        if video_id is None:
            continue
        events += int(count)
        signal[(viewer_key, video_id)] += min(MAX_LOOPS, int(total_ms) / max(1, duration_ms or 1))
    actions: list[tuple[str, Any]] = [  # (action, a select of (user id, video id))
        ("like", sa.select(Like.user_id, Like.video_id).where(Like.created_at > since)),
        ("save", sa.select(Save.user_id, Save.video_id).where(Save.created_at > since)),
        (
            "comment",
            sa.select(Comment.author_id, Comment.video_id).where(Comment.created_at > since),
        ),
        ("share", sa.select(Share.user_id, Share.video_id).where(Share.created_at > since)),
    ]
    for action, query in actions:
        for user_id, video_id in db.execute(query):
            if user_id is not None:
                signal[(f"user:{user_id}", video_id)] += ACTION_WEIGHTS[action]
    for viewer_key, video_id in db.execute(
        sa.select(NotInterested.viewer_key, NotInterested.video_id).where(
            NotInterested.created_at > since
        )
    ):
        signal[(viewer_key, video_id)] += ACTION_WEIGHTS["not_interested"]
    reach: dict[uuid.UUID, int] = defaultdict(int)
    for (_viewer, video_id), value in signal.items():
        if value > 0:
            reach[video_id] += 1
    items = sorted(reach, key=lambda vid: (-reach[vid], str(vid)))[:max_items]
    column = {vid: i for i, vid in enumerate(items)}
    row: dict[str, int] = {}
    rows, cols, values = [], [], []
    for (viewer, video_id), value in signal.items():
        if video_id in column and value != 0:
            rows.append(row.setdefault(viewer, len(row)))
            cols.append(column[video_id])
            values.append(value)
    matrix = sp.csr_matrix(
        (np.asarray(values, np.float32), (rows, cols)), shape=(len(row), len(items))
    )
    return PlatformData(matrix, items, len(row), events)


@dataclass(frozen=True)
class TrainResult:
    trained: bool
    items: int
    viewers: int
    events: int
    seconds: float
    path: Path | None


def platform_params(data: PlatformData) -> Params:
    """The L2 penalty is counted in co-occurrences, so it follows how much data there is: a
    small platform needs a small one (or noise drives the weights), a big one the tuned 45."""
    per_item = data.matrix.nnz / max(1, data.matrix.shape[1])
    return Params(lam=float(min(45.0, max(1.0, per_item / 2))), feature_weight=0.0)


def do_train(
    database: Database,
    settings: Settings,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    progress: Progress | None = None,
) -> TrainResult:
    started = time.perf_counter()
    with database.unit_of_work(write=False) as db:
        data = collect(db, max_items=max_items)
    if len(data.item_ids) < MIN_ITEMS or data.viewers == 0:
        return TrainResult(False, len(data.item_ids), data.viewers, data.events, 0.0, None)
    model = fit_matrix(
        data.matrix,
        kind="implicit",
        item_ids=np.array([str(vid) for vid in data.item_ids]),
        params=platform_params(data),
        progress=progress,
    )
    path = model_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    seconds = time.perf_counter() - started
    log.info("recommender_trained", items=model.n_items, viewers=data.viewers, seconds=seconds)
    return TrainResult(True, model.n_items, data.viewers, data.events, seconds, path)


# --- serving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    path: Path
    mtime: float
    model: Model
    index: dict[uuid.UUID, int]


class _Cache:
    """The model this process serves, swapped for a new file when training writes one."""

    def __init__(self) -> None:
        self.loaded: _Loaded | None = None
        self.lock = threading.Lock()

    def get(self, path: Path) -> _Loaded | None:
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        current = self.loaded
        if current is not None and current.path == path and current.mtime == mtime:
            return current
        with self.lock:
            model = Model.load(path)
            index = {uuid.UUID(str(item)): i for i, item in enumerate(model.item_ids)}
            self.loaded = _Loaded(path, mtime, model, index)
            return self.loaded


_cache = _Cache()


def serving_model(settings: Settings) -> tuple[Model, dict[uuid.UUID, int]] | None:
    """The newest trained model (loaded once per file), or None before the first training."""
    loaded = _cache.get(model_path(settings))
    return (loaded.model, loaded.index) if loaded else None


def recommend(
    settings: Settings, history: dict[uuid.UUID, float], *, k: int
) -> list[tuple[uuid.UUID, float]]:
    """The model's top ``k`` videos for a viewer's recent signals (ones it does not know are
    left out), best first; nothing when no model has been trained yet."""
    served = serving_model(settings)
    if served is None:
        return []
    model, index = served
    known = {index[vid]: value for vid, value in history.items() if vid in index}
    if not known:
        return []
    items, scores = model.rank(list(known), list(known.values()), k=k)
    return [
        (uuid.UUID(str(model.item_ids[i])), float(s)) for i, s in zip(items, scores, strict=True)
    ]
