"""Ranking metrics as the published protocols define them: Recall@K and NDCG@K over all items
(TikTok), and graded NDCG@K over each person's candidates (KuaiRec watch ratios)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The KuaiRec protocol's gain: a watch ratio, counted up to five loops.
GAIN_CAP = 5.0


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def recall_ndcg(
    ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], k: int
) -> tuple[float, float]:
    """Mean Recall@K and NDCG@K over the people with at least one relevant item.

    `ranked[u]` is person u's list, best first (only the first k count); `relevant[u]` the
    items they interacted with in the evaluation rows. Recall = hits / |relevant|; NDCG = DCG
    of the hits / the ideal DCG of min(|relevant|, k) hits.
    """
    if len(ranked) != len(relevant):
        raise ValueError("one ranked list per person with relevant items")
    disc = _discounts(k)
    recalls, ndcgs = [], []
    for mine, truth in zip(ranked, relevant, strict=True):
        if len(truth) == 0:
            continue
        top = np.asarray(mine)[:k]
        hits = np.isin(top, truth)
        recalls.append(hits.sum() / len(truth))
        ideal = disc[: min(len(truth), k)].sum()
        ndcgs.append((disc[: len(top)][hits]).sum() / ideal)
    if not recalls:
        return 0.0, 0.0
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def watch_gain(ratios: np.ndarray) -> np.ndarray:
    return np.minimum(np.asarray(ratios, dtype=np.float64), GAIN_CAP)


def graded_ndcg(
    ranked_gains: Sequence[np.ndarray], all_gains: Sequence[np.ndarray], k: int
) -> float:
    """Mean NDCG@K with graded gains: `ranked_gains[u]` are the gains of person u's list in
    ranked order, `all_gains[u]` the gains of all their candidates (for the ideal order).
    People whose candidates all have gain 0 are left out: every order is as good for them."""
    disc = _discounts(k)
    scores = []
    for ranked, every in zip(ranked_gains, all_gains, strict=True):
        ideal_order = np.sort(np.asarray(every, dtype=np.float64))[::-1][:k]
        ideal = (ideal_order * disc[: len(ideal_order)]).sum()
        if ideal <= 0:
            continue
        got = np.asarray(ranked, dtype=np.float64)[:k]
        scores.append((got * disc[: len(got)]).sum() / ideal)
    return float(np.mean(scores)) if scores else 0.0
