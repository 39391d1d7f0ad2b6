"""Sets of viewer numbers, stored compactly and united fast.

A day's viewers of a creator are a set of small integers (their numbers in the creator's scope,
``AudienceMember.idx``). A set is kept in whichever form is smaller: ``b"I"`` + sorted uint32
numbers while it is sparse, ``b"B"`` + a bitmap (bit i = number i, little-endian bit order) once
it is dense. A period's unique viewers is the size of the union of its days' sets: one OR over
the bitmaps, so 28 days of a million viewers take milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_INDICES = b"I"
_BITMAP = b"B"


def encode(numbers: np.ndarray) -> bytes:
    """The set of ``numbers`` (any order, repeats allowed) in its smaller form."""
    numbers = np.unique(np.asarray(numbers, dtype=np.uint32))
    if numbers.size == 0:
        return b""
    bitmap_bytes = (int(numbers[-1]) >> 3) + 1
    if numbers.size * 4 < bitmap_bytes:
        return _INDICES + numbers.astype("<u4").tobytes()
    return _BITMAP + _to_bitmap(numbers, bitmap_bytes).tobytes()


def decode(blob: bytes) -> np.ndarray:
    """The sorted numbers in a set."""
    if not blob:
        return np.zeros(0, dtype=np.uint32)
    body = np.frombuffer(blob, dtype=np.uint8, offset=1)
    if blob[:1] == _INDICES:
        return body.view("<u4").astype(np.uint32)
    return np.flatnonzero(np.unpackbits(body, bitorder="little")).astype(np.uint32)


def add(blob: bytes, numbers: np.ndarray) -> bytes:
    """The set with ``numbers`` added: the same bytes as ``encode`` of the union. A bitmap takes
    the new bits in place (a big audience's month grows batch by batch without being decoded
    into its million numbers and sorted again)."""
    numbers = np.asarray(numbers, dtype=np.uint32)
    if not blob:
        return encode(numbers)
    if numbers.size == 0:
        return blob
    if blob[:1] == _BITMAP:
        body = np.frombuffer(blob, dtype=np.uint8, offset=1)
        n_bytes = max(body.size, (int(numbers.max()) >> 3) + 1)
        merged = _to_bitmap(numbers, n_bytes)
        merged[: body.size] |= body
        if int(np.bitwise_count(merged).sum()) * 4 >= n_bytes:  # still dense: a bitmap
            return _BITMAP + merged.tobytes()
    return encode(np.concatenate([decode(blob), numbers]))


def union_size(blobs: Iterable[bytes]) -> int:
    """How many numbers are in at least one of the sets."""
    bitmaps: list[np.ndarray] = []
    loose: list[np.ndarray] = []
    for blob in blobs:
        if not blob:
            continue
        body = np.frombuffer(blob, dtype=np.uint8, offset=1)
        (loose if blob[:1] == _INDICES else bitmaps).append(body)
    if not bitmaps:
        if not loose:
            return 0
        return int(np.unique(np.concatenate([b.view("<u4") for b in loose])).size)
    size = max(b.size for b in bitmaps)
    if loose:
        numbers = np.concatenate([b.view("<u4") for b in loose])
        size = max(size, (int(numbers.max()) >> 3) + 1)
        bitmaps.append(_to_bitmap(numbers, size))
    union = np.zeros(size, dtype=np.uint8)
    for b in bitmaps:
        union[: b.size] |= b
    return int(np.bitwise_count(union).sum())


def size(blob: bytes) -> int:
    return union_size([blob])


def _to_bitmap(numbers: np.ndarray, n_bytes: int) -> np.ndarray:
    bits = np.zeros(n_bytes * 8, dtype=np.uint8)
    bits[numbers.astype(np.int64)] = 1
    return np.packbits(bits, bitorder="little")
