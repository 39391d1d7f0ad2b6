"""The For You recommender's model: item-to-item linear weights (EASE, Steck 2019) learned from
interactions, with item features blended into the same solve so cold items are reachable, and a
prior for people with little or no history.

Two kinds, picked by the data's signal:

- ``implicit`` (no signal, ``weight`` or ``rating``): score = history · B + a popularity prior.
  B comes from G = XᵀX + α·FFᵀ, where F holds each item's standardised, unit-length image and
  audio features (FFᵀ = their average cosine similarity): the "collective" EASE of Jeunen et al.
  (RecSys 2020), so an item nobody has interacted with gets a column of B from what it looks and
  sounds like.
- ``watch_ratio``: score = predicted watch ratio = the item's shrunken mean of min(ratio, 5)
  + the user's own residuals · B, with B the EASE weights over residuals.

Both score one person's history with one sparse row times B (only the rows of the items they
touched), so serving takes milliseconds; a model saves to, and loads from, one .npz file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from playback.recsys.data import InputError, Interactions

Kind = Literal["implicit", "watch_ratio"]
Progress = Callable[[str, int, int], None]

# B is dense n × n float32: 25,000 items is 2.5 GB and a minutes-long solve on two cores. A
# larger catalogue has to be cut (e.g. to the items of the last weeks) before it gets here.
MAX_ITEMS = 25_000
FORMAT_VERSION = 1
# Content neighbours that stand in for an item's own watch ratios while it has few.
RATIO_NEIGHBOURS = 20


@dataclass(frozen=True)
class Params:
    """Defaults tuned on the TikTok `valid` split (implicit) and on per-user holdouts of KuaiRec
    (watch ratios); see recsys/README.md."""

    lam: float = 45.0  # EASE's L2 penalty, in co-occurrence counts
    feature_weight: float = 300.0  # α: weight of the content similarity added to XᵀX
    popularity_weight: float = 0.01  # prior = this · log(1 + n_i) / log(1 + max n)
    ratio_clip: float = 2.0  # ratios above count as 2 when learning: loops are noisy
    item_shrinkage: float = 3.0  # pseudo-observations pulling an item's mean to its prior
    user_shrinkage: float = 5.0  # pseudo-observations pulling a user's bias to 0
    ratio_lam: float = 300.0  # EASE penalty over watch-ratio residuals (they are noisy)
    residual_weight: float = 1.0  # how much of the personal residual to add


@dataclass(frozen=True)
class Model:
    kind: Kind
    item_ids: np.ndarray  # str, index → outside id
    weights: np.ndarray  # float32 n × n, the item-to-item B (zero diagonal)
    prior: np.ndarray  # float32 n: popularity prior, or the items' mean watch ratios
    params: Params = field(default_factory=Params)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def _user_rows(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """What multiplies B: the signal as is (implicit), or residuals (watch ratios)."""
        if self.kind == "implicit":
            return sp.csr_matrix(history, dtype=np.float32)
        return ratio_residuals(history, self.prior, self.params)

    def score_many(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores (rows × items, float32) for many people at once: one row of `history` each,
        holding their signal values (weights, or watch ratios) at the items they touched."""
        if history.shape[1] != self.n_items:
            raise ValueError(f"history has {history.shape[1]} items, the model {self.n_items}")
        rows = self._user_rows(history)
        scores = np.asarray(rows @ self.weights, dtype=np.float32)
        scores += self.prior
        return scores

    def score(
        self, items: Sequence[int] | np.ndarray, values: Sequence[float] | None = None
    ) -> np.ndarray:
        """One person's scores over every item, from the items they touched (indexes) and their
        signal values there (1.0 each if omitted)."""
        idx = np.asarray(items, dtype=np.int64)
        data = np.ones(len(idx), np.float32) if values is None else np.asarray(values, np.float32)
        if len(data) != len(idx):
            raise ValueError("items and values differ in length")
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n_items):
            raise ValueError(f"item indexes must be within 0..{self.n_items - 1}")
        if len(np.unique(idx)) != len(idx):
            raise ValueError("an item appears twice in the history: aggregate it first")
        row = sp.csr_matrix(
            (data, idx, np.array([0, len(idx)])), shape=(1, self.n_items), dtype=np.float32
        )
        return self.score_many(row)[0]

    def rank(
        self,
        items: Sequence[int] | np.ndarray,
        values: Sequence[float] | None = None,
        *,
        k: int,
        candidates: Sequence[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(item indexes, scores), best first: the top `k` items the person has not touched,
        or the top `k` of `candidates` (touched or not: the caller chose them)."""
        scores = self.score(items, values)
        if candidates is None:
            scores[np.asarray(items, dtype=np.int64)] = -np.inf
            best = top_k(scores[None, :], k)[0]
            best = best[best >= 0]
            return best, scores[best]
        cand = np.asarray(candidates, dtype=np.int64)
        order = top_k(scores[cand][None, :], k)[0]
        order = order[order >= 0]
        return cand[order], scores[cand[order]]

    def save(self, path: Path) -> None:
        """Write the model to one .npz file (atomically: a failed save leaves no file)."""
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(
                    out,
                    format_version=np.array(FORMAT_VERSION),
                    kind=np.array(self.kind),
                    item_ids=np.asarray(self.item_ids, dtype=np.str_),
                    weights=self.weights,
                    prior=self.prior,
                    params=np.array(json.dumps(asdict(self.params))),
                )
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            with np.load(path, allow_pickle=False) as archive:
                version = int(archive["format_version"])
                if version != FORMAT_VERSION:
                    raise InputError(f"{path}: model format {version}, expected {FORMAT_VERSION}.")
                kind = str(archive["kind"])
                model = cls(
                    kind="watch_ratio" if kind == "watch_ratio" else "implicit",
                    item_ids=archive["item_ids"],
                    weights=archive["weights"],
                    prior=archive["prior"],
                    params=Params(**json.loads(str(archive["params"]))),
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a recommender model file ({exc}).") from exc
        n = model.n_items
        if (
            kind not in ("implicit", "watch_ratio")
            or model.weights.shape != (n, n)
            or (model.prior.shape != (n,))
        ):
            raise InputError(f"{path}: the model's arrays do not fit together.")
        return model


def rank_many(
    model: Model,
    history: sp.csr_matrix,
    *,
    k: int,
    seen: sp.csr_matrix | None = None,
    candidates: Sequence[np.ndarray] | None = None,
    batch: int = 1024,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(item indexes, scores), best first, for each row of `history`: the top `k` items not in
    that row of `seen`, or the top `k` of that row's `candidates`. Rows are scored `batch` at a
    time, so memory stays at batch × items."""
    for start in range(0, history.shape[0], batch):
        scores = model.score_many(history[start : start + batch])
        if candidates is None:
            if seen is not None:
                scores[seen[start : start + batch].nonzero()] = -np.inf
            for row, best in zip(scores, top_k(scores, k), strict=True):
                chosen = best[best >= 0]
                yield chosen, row[chosen]
            continue
        for row, pool in zip(scores, candidates[start : start + batch], strict=True):
            picked = top_k(row[pool][None, :], k)[0]
            chosen = pool[picked[picked >= 0]]
            yield chosen, row[chosen]


def ratio_residuals(history: sp.csr_matrix, means: np.ndarray, p: Params) -> sp.csr_matrix:
    """Each watch ratio (clipped) less its item's mean, less the person's own shrunken mean
    residual: whether someone watches everything longer says nothing about which video they
    prefer, so only what is left is personal."""
    rows = sp.csr_matrix(history, dtype=np.float32, copy=True)
    per_row = np.diff(rows.indptr)
    owner = np.repeat(np.arange(rows.shape[0]), per_row)
    residual = np.minimum(rows.data, p.ratio_clip) - means[rows.indices]
    bias = np.bincount(owner, weights=residual, minlength=rows.shape[0]) / (
        per_row + p.user_shrinkage
    )
    rows.data = (residual - bias[owner]).astype(np.float32)
    return rows


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the indexes of the `k` highest finite scores, best first; ties go to the lower
    index so every run ranks alike. Rows with fewer finite scores are padded with -1."""
    rows, n = scores.shape
    out = np.full((rows, min(k, n)), -1, dtype=np.int64)
    if n == 0 or k <= 0:
        return out[:, :0]
    for r in range(rows):
        row = scores[r]
        finite = np.flatnonzero(np.isfinite(row))
        if len(finite) > k:
            cut = finite[np.argpartition(-row[finite], k - 1)[:k]]
            finite = finite[row[finite] >= row[cut].min()]  # everything tied at the cut too
        order = np.lexsort((finite, -row[finite]))[:k]
        out[r, : len(order)] = finite[order]
    return out


def content_embedding(features: Sequence[np.ndarray]) -> np.ndarray:
    """Rows whose dot products are the items' cosine similarity averaged over the feature
    sets. Each feature is standardised first: raw image features are all positive and would
    make every pair look alike."""
    parts = []
    for matrix in features:
        f = matrix.astype(np.float32)
        f -= f.mean(axis=0)
        std = f.std(axis=0)
        f /= np.where(std > 0, std, 1.0)
        norms = np.linalg.norm(f, axis=1, keepdims=True)
        f /= np.where(norms > 0, norms, 1.0)
        parts.append(f)
    return np.hstack(parts) / np.float32(np.sqrt(len(parts)))


def _ease(gram: np.ndarray, lam: float) -> np.ndarray:
    """EASE's closed form, B = I − P·diag(1/diag P) with P = (G + λI)⁻¹, computed in place in
    `gram` (float32) to hold only one n × n matrix at a time."""
    gram[np.diag_indices_from(gram)] += np.float32(lam)
    # G + λI is symmetric positive definite: Cholesky then its inverse is ~3× faster than LU.
    # LAPACK wants column-major arrays; the transpose of the (C-ordered, symmetric) matrix is
    # one, so it works in place instead of on a 180 MB copy.
    chol, info = lapack.spotrf(gram.T, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise ArithmeticError(f"the regularised Gram matrix is not positive definite ({info})")
    result, info = lapack.spotri(chol, lower=1, overwrite_c=1)
    if info != 0:
        raise ArithmeticError(f"cannot invert the regularised Gram matrix ({info})")
    # Back to row-major (scoring multiplies rows of B: a column-major B would be copied on
    # every call), where spotri's lower triangle is the upper one; mirror it a band at a time.
    inverse = np.ascontiguousarray(result.T)
    n = inverse.shape[0]
    for start in range(0, n, 1024):
        stop = min(start + 1024, n)
        inverse[stop:, start:stop] = inverse[start:stop, stop:].T
        block = inverse[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    diag = np.diag(inverse).copy()
    inverse /= -diag[None, :]
    np.fill_diagonal(inverse, 0.0)
    return inverse


def _check_size(n: int) -> None:
    if n > MAX_ITEMS:
        raise InputError(
            f"{n:,} items: the item-to-item model holds an n × n matrix "
            f"({4 * n * n / 2**30:.1f} GiB) and supports at most {MAX_ITEMS:,}; cut the "
            "catalogue (e.g. to recent or watched items) first."
        )


def fit(
    data: Interactions,
    features: Mapping[str, np.ndarray] | Sequence[np.ndarray] = (),
    params: Params | None = None,
    progress: Progress | None = None,
) -> Model:
    """Train on checked interactions (see data.read_interactions)."""
    feats = list(features.values()) if isinstance(features, Mapping) else list(features)
    return fit_matrix(
        data.matrix(),
        kind="watch_ratio" if data.signal == "watch_ratio" else "implicit",
        item_ids=data.items.ids,
        features=feats,
        params=params,
        progress=progress,
    )


def fit_matrix(
    matrix: sp.csr_matrix,
    *,
    kind: Kind,
    item_ids: np.ndarray,
    features: Sequence[np.ndarray] = (),
    params: Params | None = None,
    progress: Progress | None = None,
) -> Model:
    """Train on a user × item matrix of signal values (rows are people, columns items).
    Feature matrices, if given, have one row per item (column)."""
    p = params or Params()
    n = matrix.shape[1]
    _check_size(n)
    if len(item_ids) != n:
        raise ValueError(f"{len(item_ids)} item ids for {n} columns")
    for f in features:
        if f.shape[0] != n:
            raise ValueError(f"a feature matrix has {f.shape[0]} rows for {n} items")
    # Explicit zeros stay: a watch ratio of 0 (skipped at once) is an observation.
    x = sp.csr_matrix(matrix, dtype=np.float32)
    emb = content_embedding(features) if len(features) else None

    def step(name: str, done: int) -> None:
        if progress:
            progress(name, done, 1)

    if kind == "watch_ratio":
        step("item means", 0)
        prior = _ratio_item_means(x, emb, p)
        step("item means", 1)
        rows = ratio_residuals(x, prior, p)
        step("co-occurrences", 0)
        gram = (rows.T @ rows).toarray().astype(np.float32)
        step("co-occurrences", 1)
        lam, blend = p.ratio_lam, p.residual_weight
    else:
        step("co-occurrences", 0)
        gram = (x.T @ x).toarray().astype(np.float32)
        step("co-occurrences", 1)
        if emb is not None and p.feature_weight:
            step("content similarity", 0)
            gram += np.float32(p.feature_weight) * (emb @ emb.T)
            step("content similarity", 1)
        counts = np.bincount(x.indices[x.data > 0], minlength=n).astype(np.float32)
        prior = (p.popularity_weight * np.log1p(counts) / np.log1p(max(counts.max(), 1.0))).astype(
            np.float32
        )
        lam, blend = p.lam, 1.0
    step(f"solving ({n:,} × {n:,})", 0)
    weights = _ease(gram, lam)
    if blend != 1.0:
        weights *= np.float32(blend)
    step(f"solving ({n:,} × {n:,})", 1)
    return Model(kind, np.asarray(item_ids, dtype=np.str_), weights, prior.astype(np.float32), p)


def _ratio_item_means(x: sp.csr_matrix, emb: np.ndarray | None, p: Params) -> np.ndarray:
    """Each item's mean of min(ratio, clip), shrunk towards a prior: the global mean, or with
    features the similarity-weighted mean of its nearest content neighbours (so a cold item
    starts from what similar videos get)."""
    n = x.shape[1]
    clipped = np.minimum(x.data, p.ratio_clip)
    counts = np.bincount(x.indices, minlength=n).astype(np.float64)
    sums = np.bincount(x.indices, weights=clipped, minlength=n)
    overall = float(clipped.mean()) if len(clipped) else 0.0
    prior = np.full(n, overall)
    seen = np.flatnonzero(counts > 0)
    if emb is not None and len(seen) > 1:
        raw = sums[seen] / counts[seen]
        k = min(RATIO_NEIGHBOURS, len(seen) - 1)
        for start in range(0, n, 2048):  # blocks keep the similarity matrix small
            block = slice(start, min(start + 2048, n))
            sim = emb[block] @ emb[seen].T
            own = np.flatnonzero((seen >= start) & (seen < block.stop))
            sim[seen[own] - start, own] = -np.inf  # an item is not its own neighbour
            near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            w = np.maximum(np.take_along_axis(sim, near, axis=1), 0.0)
            total = w.sum(axis=1)
            neighbour_mean = (w * raw[near]).sum(axis=1) / np.where(total > 0, total, 1.0)
            prior[block] = np.where(total > 0, neighbour_mean, overall)
    return ((sums + p.item_shrinkage * prior) / (counts + p.item_shrinkage)).astype(np.float32)
