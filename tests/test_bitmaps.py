"""Viewer sets: any sequence of additions gives the very bytes ``encode`` gives the union, in
the smaller of the two forms, and unions count each number once."""

from __future__ import annotations

import random

import numpy as np
import pytest

from playback.analytics import bitmaps


def _numbers(values: list[int] | set[int]) -> np.ndarray:
    return np.array(sorted(values), dtype=np.uint32)


@pytest.mark.parametrize("seed", range(12))
def test_adding_in_batches_equals_encoding_the_union(seed: int) -> None:
    rng = random.Random(seed)
    high = rng.choice([50, 2_000, 100_000])  # sparse lists, dense bitmaps, and the switch
    blob, union = b"", set()
    for _ in range(rng.randint(1, 8)):
        batch = [rng.randrange(high) for _ in range(rng.randint(0, 3_000))]
        if rng.random() < 0.2:
            batch.append(high * 40)  # a far-out number can make a bitmap sparse again
        blob = bitmaps.add(blob, np.array(batch, dtype=np.uint32))
        union |= set(batch)
        assert blob == bitmaps.encode(_numbers(union))
        assert bitmaps.decode(blob).tolist() == sorted(union)
        assert bitmaps.size(blob) == len(union)


def test_the_smaller_form_is_kept() -> None:
    sparse = bitmaps.encode(_numbers({3, 10_000}))
    dense = bitmaps.encode(np.arange(0, 800, 2, dtype=np.uint32))
    assert sparse[:1] == b"I" and dense[:1] == b"B"
    assert bitmaps.add(dense, np.array([], dtype=np.uint32)) == dense
    grown = bitmaps.add(dense, np.array([1, 3, 801], dtype=np.uint32))
    assert grown[:1] == b"B" and bitmaps.size(grown) == 403
    thinned = bitmaps.add(dense, np.array([5_000_000], dtype=np.uint32))
    assert thinned[:1] == b"I" and bitmaps.decode(thinned)[-1] == 5_000_000


def test_a_union_counts_each_number_once() -> None:
    rng = random.Random(3)
    sets = [{rng.randrange(20_000) for _ in range(rng.randint(0, 6_000))} for _ in range(9)]
    blobs = [bitmaps.encode(_numbers(s)) for s in sets] + [b""]
    assert bitmaps.union_size(blobs) == len(set().union(*sets))
    assert bitmaps.union_size([]) == 0
