"""Offline evaluation with the code that serves the feed: train with models.fit, score with
Model.score_many, and measure with the published protocols (metrics.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from playback.recsys.data import (
    InputError,
    Interactions,
    read_interactions,
    read_predictions,
)
from playback.recsys.metrics import graded_ndcg, recall_ndcg, watch_gain
from playback.recsys.models import Params, Progress, fit, rank_many, top_k

BATCH = 1024  # people scored at once: 1024 × 6,710 float32 is 27 MB


@dataclass(frozen=True)
class RankingReport:
    """Recall@K / NDCG@K over all items, with most-popular for comparison."""

    k: int
    users: int
    train_rows: int
    eval_rows: int
    recall: float
    ndcg: float
    popular_recall: float
    popular_ndcg: float
    train_seconds: float


@dataclass(frozen=True)
class WatchRatioReport:
    """NDCG@K with gain min(watch ratio, 5) over each person's held-out videos, against
    ranking them by the per-video mean watch ratio."""

    k: int
    users: int
    train_rows: int
    eval_rows: int
    ndcg: float
    video_mean_ndcg: float
    train_seconds: float


def holdout_mask(data: Interactions, fraction: float, seed: int) -> np.ndarray:
    """True for the rows held out: round(fraction · n) of each person's n rows, chosen at
    random (seeded), at least one and never all of them (people with one row keep it)."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(data)), data.user_idx))
    counts = np.bincount(data.user_idx, minlength=len(data.users))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.empty(len(data), dtype=np.int64)
    position[order] = np.arange(len(data)) - np.repeat(starts, counts)
    take = np.clip(np.rint(fraction * counts), 1, np.maximum(counts - 1, 0)).astype(np.int64)
    return position < take[data.user_idx]


def _tick(progress: Progress | None, step: str, done: int, total: int) -> None:
    if progress:
        progress(step, done, total)


def evaluate_ranking(
    train: Interactions,
    held: Interactions,
    features: Mapping[str, np.ndarray],
    *,
    k: int,
    params: Params | None = None,
    progress: Progress | None = None,
) -> RankingReport:
    """The published protocol: train on `train`; for every person with held rows, score all
    items, drop their train items, take the top k."""
    started = time.perf_counter()
    model = fit(train, features, params, progress)
    seconds = time.perf_counter() - started
    history, seen, truth = train.matrix(), train.seen(), held.seen()
    users = np.unique(held.user_idx)
    counts = np.asarray(seen.sum(axis=0)).ravel()
    ranked = [items for items, _ in rank_many(model, history[users], seen=seen[users], k=k)]
    _tick(progress, "scoring", len(users), len(users))
    popular: list[np.ndarray] = []
    for start in range(0, len(users), BATCH):
        batch = users[start : start + BATCH]
        baseline = np.tile(counts.astype(np.float32), (len(batch), 1))
        baseline[seen[batch].nonzero()] = -np.inf
        popular.extend(top_k(baseline, k))
    relevant = [truth.indices[truth.indptr[u] : truth.indptr[u + 1]] for u in users]
    recall, ndcg = recall_ndcg(ranked, relevant, k)
    pop_recall, pop_ndcg = recall_ndcg(popular, relevant, k)
    return RankingReport(
        k, len(users), len(train), len(held), recall, ndcg, pop_recall, pop_ndcg, seconds
    )


def evaluate_watch_ratio(
    train: Interactions,
    held: Interactions,
    features: Mapping[str, np.ndarray],
    *,
    k: int,
    params: Params | None = None,
    progress: Progress | None = None,
) -> WatchRatioReport:
    """Each person's held-out videos are their candidates: rank them by the model's predicted
    watch ratio and by the per-video mean watch ratio of the training rows (the global mean for
    a video without any), and compare NDCG@K with gain min(ratio, 5)."""
    if train.signal != "watch_ratio" or held.signal != "watch_ratio":
        raise InputError(f"{train.path}: this protocol needs a watch_ratio column.")
    started = time.perf_counter()
    model = fit(train, features, params, progress)
    seconds = time.perf_counter() - started
    n = len(train.items)
    counts = np.bincount(train.item_idx, minlength=n)
    sums = np.bincount(train.item_idx, weights=train.values.astype(np.float64), minlength=n)
    video_mean = np.where(counts > 0, sums / np.maximum(counts, 1), train.values.mean())
    history, truth = train.matrix(), held.matrix()
    users = np.unique(held.user_idx)
    model_gains: list[np.ndarray] = []
    mean_gains: list[np.ndarray] = []
    all_gains: list[np.ndarray] = []
    for start in range(0, len(users), BATCH):
        batch = users[start : start + BATCH]
        scores = model.score_many(history[batch])
        for row, user in enumerate(batch):
            items = truth.indices[truth.indptr[user] : truth.indptr[user + 1]]
            gains = watch_gain(truth.data[truth.indptr[user] : truth.indptr[user + 1]])
            for ranking, out in (
                (scores[row, items], model_gains),
                (video_mean[items], mean_gains),
            ):
                order = top_k(np.asarray(ranking, dtype=np.float64)[None, :], k)[0]
                out.append(gains[order[order >= 0]])
            all_gains.append(gains)
        _tick(progress, "scoring", min(start + BATCH, len(users)), len(users))
    return WatchRatioReport(
        k,
        len(users),
        len(train),
        len(held),
        graded_ndcg(model_gains, all_gains, k),
        graded_ndcg(mean_gains, all_gains, k),
        seconds,
    )


@dataclass(frozen=True)
class FileReport:
    k: int
    users: int
    users_without_predictions: int
    recall: float | None  # None for graded (watch ratio) truth
    ndcg: float


def evaluate_files(predictions: Path, truth: Path, *, k: int) -> FileReport:
    """Score a `rank` output against a truth CSV (`user,item` and optionally a signal). With
    watch ratios: graded NDCG@K (gain min(ratio, 5)) over each person's truth rows; otherwise
    Recall@K and NDCG@K. Everyone in the truth counts; no predictions count as no hits."""
    ranked = read_predictions(predictions)
    data = read_interactions(truth)
    matrix = data.matrix()
    missing = 0
    if data.signal == "watch_ratio":
        got, every = [], []
        for u, user in enumerate(data.users.ids.tolist()):
            row = slice(matrix.indptr[u], matrix.indptr[u + 1])
            gain = dict(
                zip(
                    data.items.ids[matrix.indices[row]].tolist(),
                    watch_gain(matrix.data[row]),
                    strict=True,
                )
            )
            mine = ranked.get(user)
            missing += mine is None
            got.append(np.array([gain.get(item, 0.0) for item in (mine or [])[:k]]))
            every.append(np.array(list(gain.values())))
        return FileReport(k, len(data.users), missing, None, graded_ndcg(got, every, k))
    lists, relevant = [], []
    for u, user in enumerate(data.users.ids.tolist()):
        row = slice(matrix.indptr[u], matrix.indptr[u + 1])
        mine = ranked.get(user)
        missing += mine is None
        lists.append(np.asarray((mine or [])[:k], dtype=np.str_))
        relevant.append(data.items.ids[matrix.indices[row]])
    recall, ndcg = recall_ndcg(lists, relevant, k)
    return FileReport(k, len(data.users), missing, recall, ndcg)
