"""Reading and checking the recommender's inputs: interaction CSVs, candidate and user lists,
item feature files (.npy), id maps, and the sparse user × item matrix.

Every refusal names the file and, for a CSV, the line: bad input must never turn into a silently
wrong ranking.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from array import array
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import scipy.sparse as sp

from playback.errors import Invalid

SIGNALS = ("watch_ratio", "weight", "rating")
SPLITS = ("train", "valid", "test")
# Real logs hold large ratios: KuaiRec has a 122× watch ratio (a seconds-long clip left looping),
# so "absurd" starts well above that; 1000 catches unit slips (milliseconds for a ratio).
MAX_WATCH_RATIO = 1000.0
# Weights and ratings may be negative ("not interested"), but not beyond any sane scale.
MAX_ABS_WEIGHT = 1e6


class InputError(Invalid):
    """Input the recommender refuses; the message names the file and, where there is one, the
    line."""

    code = "recsys_bad_input"


class IdMap:
    """Outside ids (strings) ↔ dense indexes 0..n-1.

    Integer ids keep their numeric order; other ids are sorted as text, so every run and every
    output lists users and items in the same order.
    """

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = np.asarray(list(ids), dtype=np.str_)
        self._index = {value: i for i, value in enumerate(self.ids.tolist())}
        if len(self._index) != len(self.ids):
            raise ValueError("ids must be unique")

    @classmethod
    def sorted_from(cls, ids: Sequence[str]) -> IdMap:
        if all(is_integer_id(value) for value in ids):
            return cls(sorted(ids, key=int))
        return cls(sorted(ids))

    @classmethod
    def range(cls, n: int) -> IdMap:
        return cls([str(i) for i in range(n)])

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, value: object) -> bool:
        return value in self._index

    def get(self, value: str) -> int | None:
        return self._index.get(value)

    def index(self, value: str) -> int:
        return self._index[value]


def is_integer_id(value: str) -> bool:
    """A canonical non-negative integer ("0", "17"; not "017", "+1", " 1" or "²")."""
    return value.isascii() and value.isdigit() and (value == "0" or value[0] != "0")


@dataclass(frozen=True)
class Interactions:
    """Interaction rows, with the line each came from so later checks can still name it."""

    path: str
    users: IdMap
    items: IdMap
    user_idx: np.ndarray  # int32, into users
    item_idx: np.ndarray  # int32, into items
    values: np.ndarray  # float32: the signal, or 1.0 when the file has none
    signal: str | None  # "watch_ratio", "weight", "rating" or None (implicit, binary)
    timestamps: np.ndarray | None  # float64 POSIX seconds
    split: np.ndarray | None  # int8 index into SPLITS
    lines: np.ndarray  # int64 line numbers in `path`

    def __len__(self) -> int:
        return len(self.user_idx)

    def select(self, mask: np.ndarray) -> Interactions:
        """The rows where `mask` is true, with the same id maps (so indexes stay comparable)."""
        return Interactions(
            path=self.path,
            users=self.users,
            items=self.items,
            user_idx=self.user_idx[mask],
            item_idx=self.item_idx[mask],
            values=self.values[mask],
            signal=self.signal,
            timestamps=None if self.timestamps is None else self.timestamps[mask],
            split=None if self.split is None else self.split[mask],
            lines=self.lines[mask],
        )

    def split_mask(self, name: str) -> np.ndarray:
        if self.split is None:
            raise InputError(f"{self.path}: there is no `split` column to pick {name!r} from.")
        return self.split == SPLITS.index(name)

    def matrix(self) -> sp.csr_matrix:
        """The user × item matrix of signal values (float32; a pair appears at most once).
        Zeros are kept as explicit entries: a watch ratio of 0 is still an observation."""
        order = np.lexsort((self.item_idx, self.user_idx))
        indptr = np.zeros(len(self.users) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.user_idx, minlength=len(self.users)), out=indptr[1:])
        return sp.csr_matrix(
            (self.values[order], self.item_idx[order].astype(np.int64), indptr),
            shape=(len(self.users), len(self.items)),
            dtype=np.float32,
        )

    def seen(self) -> sp.csr_matrix:
        """The same pairs with 1.0 everywhere: what each person has interacted with, whatever
        the signal said (a weight or watch ratio of 0 is still seen)."""
        seen = self.matrix()
        seen.data = np.ones_like(seen.data)
        return seen


def _open_csv(path: Path) -> TextIO:
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc


def _rows(path: Path, handle: TextIO) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every non-blank row, turning decoding and CSV errors into
    InputErrors that name the line."""
    reader = csv.reader(handle, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # Text is decoded ahead of the CSV reader in blocks, so find the line afresh.
            raise InputError(
                f"{path}, line {_first_undecodable_line(path)}: not UTF-8 text ({exc.reason})."
            ) from exc
        except csv.Error as exc:
            raise InputError(f"{path}, line {reader.line_num}: malformed CSV ({exc}).") from exc
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank lines carry nothing; refusing them would only annoy
        yield reader.line_num, [field.strip() for field in row]


def _first_undecodable_line(path: Path) -> int:
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _header(
    path: Path, rows: Iterator[tuple[int, list[str]]], required: Sequence[str], optional: set[str]
) -> list[str]:
    first = next(rows, None)
    if first is None:
        raise InputError(f"{path}: the file is empty (expected a header: {','.join(required)}).")
    line, header = first
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"{path}, line {line}: the column {name!r} appears twice.")
        seen.add(name)
        if name not in required and name not in optional:
            allowed = ", ".join([*required, *sorted(optional)])
            raise InputError(f"{path}, line {line}: unknown column {name!r} (allowed: {allowed}).")
    for name in required:
        if name not in seen:
            raise InputError(f"{path}, line {line}: the header has no {name!r} column.")
    return header


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}, line {line}: {column} {text!r} is not a number.") from None
    if not math.isfinite(value):
        raise InputError(f"{path}, line {line}: {column} is {text!r}; it must be finite.")
    return value


def _check_signal(path: Path, line: int, column: str, value: float) -> None:
    if column == "watch_ratio":
        if value < 0:
            raise InputError(f"{path}, line {line}: watch_ratio {value:g} is negative.")
        if value > MAX_WATCH_RATIO:
            raise InputError(
                f"{path}, line {line}: watch_ratio {value:g} is absurd (over "
                f"{MAX_WATCH_RATIO:g}; is it in milliseconds?)."
            )
    elif abs(value) > MAX_ABS_WEIGHT:
        raise InputError(
            f"{path}, line {line}: {column} {value:g} is out of range (±{MAX_ABS_WEIGHT:g})."
        )


def _timestamp(path: Path, line: int, text: str) -> float:
    """POSIX seconds, or an ISO 8601 date-time (no zone = UTC)."""
    try:
        return _number(path, line, "timestamp", text)
    except InputError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{path}, line {line}: timestamp {text!r} is neither POSIX seconds nor ISO 8601."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def read_interactions(
    path: Path,
    *,
    catalogue: tuple[int, str] | None = None,
    extra_items: Collection[str] = (),
) -> Interactions:
    """Read and check an interaction CSV: `user,item` plus at most one of `watch_ratio`,
    `weight`, `rating`, and optionally `timestamp` and `split` (train/valid/test).

    `catalogue` = (number of items, the feature file that says so): item ids must then be
    integers 0..n-1 and index == id, so row i of a feature file is item i; items nobody
    interacted with are still in the catalogue (cold items). Without it, the items are those
    seen in the file plus `extra_items` (e.g. candidates nobody has watched yet).

    A (user, item) pair may appear once: repeated watches are for the caller to aggregate (e.g.
    the highest watch ratio), because summing and keeping the last give different answers and
    guessing would be a silent choice.
    """
    with _open_csv(path) as handle:
        rows = _rows(path, handle)
        header = _header(path, rows, ("user", "item"), {*SIGNALS, "timestamp", "split"})
        signals = [name for name in header if name in SIGNALS]
        if len(signals) > 1:
            raise InputError(
                f"{path}: give one signal column, not {' and '.join(signals)} (they would be "
                "read as different scales)."
            )
        signal = signals[0] if signals else None
        ncols = len(header)
        u_col, i_col = header.index("user"), header.index("item")
        s_col = header.index(signal) if signal else -1
        t_col = header.index("timestamp") if "timestamp" in header else -1
        p_col = header.index("split") if "split" in header else -1

        user_codes: dict[str, int] = {}
        item_codes: dict[str, int] = {}
        users, items, lines = array("i"), array("i"), array("q")
        values, stamps, splits = array("f"), array("d"), array("b")
        for line, row in rows:
            if len(row) != ncols:
                raise InputError(
                    f"{path}, line {line}: expected {ncols} fields ({','.join(header)}), "
                    f"found {len(row)}."
                )
            user, item = row[u_col], row[i_col]
            if not user or not item:
                raise InputError(f"{path}, line {line}: empty {'user' if not user else 'item'}.")
            if catalogue is not None and not (is_integer_id(item) and int(item) < catalogue[0]):
                raise InputError(
                    f"{path}, line {line}: item {item!r} has no row in {catalogue[1]} "
                    f"({catalogue[0]} rows: item ids must be integers 0..{catalogue[0] - 1})."
                )
            users.append(user_codes.setdefault(user, len(user_codes)))
            items.append(item_codes.setdefault(item, len(item_codes)))
            lines.append(line)
            if signal:
                value = _number(path, line, signal, row[s_col])
                _check_signal(path, line, signal, value)
                values.append(value)
            if t_col >= 0:
                stamps.append(_timestamp(path, line, row[t_col]))
            if p_col >= 0:
                if row[p_col] not in SPLITS:
                    raise InputError(
                        f"{path}, line {line}: split {row[p_col]!r} is not one of "
                        f"{', '.join(SPLITS)}."
                    )
                splits.append(SPLITS.index(row[p_col]))
    if not users:
        raise InputError(f"{path}: no interactions after the header.")

    user_map = IdMap.sorted_from(list(user_codes))
    item_map = (
        IdMap.range(catalogue[0])
        if catalogue is not None
        else IdMap.sorted_from(list(item_codes.keys() | set(extra_items)))
    )
    # Codes were handed out in order of first appearance; translate them to the sorted maps.
    user_to = np.array([user_map.index(u) for u in user_codes], dtype=np.int32)
    item_to = np.array([item_map.index(i) for i in item_codes], dtype=np.int32)
    result = Interactions(
        path=str(path),
        users=user_map,
        items=item_map,
        user_idx=user_to[np.frombuffer(users, dtype=np.int32)],
        item_idx=item_to[np.frombuffer(items, dtype=np.int32)],
        values=(
            np.frombuffer(values, dtype=np.float32).copy()
            if signal
            else np.ones(len(users), dtype=np.float32)
        ),
        signal=signal,
        timestamps=np.frombuffer(stamps, dtype=np.float64).copy() if t_col >= 0 else None,
        split=np.frombuffer(splits, dtype=np.int8).copy() if p_col >= 0 else None,
        lines=np.frombuffer(lines, dtype=np.int64).copy(),
    )
    _refuse_duplicates(result)
    return result


def _refuse_duplicates(data: Interactions) -> None:
    key = data.user_idx.astype(np.int64) * len(data.items) + data.item_idx
    order = np.argsort(key, kind="stable")  # stable: the earlier line stays first
    same = np.flatnonzero(key[order][1:] == key[order][:-1])
    if not len(same):
        return
    # Report the repeat that comes earliest in the file, as a reader would find it.
    later = order[same + 1]
    pick = int(np.argmin(data.lines[later]))
    first, second = order[same[pick]], later[pick]
    user = data.users.ids[data.user_idx[first]]
    item = data.items.ids[data.item_idx[first]]
    raise InputError(
        f"{data.path}, line {data.lines[second]}: the pair (user {user}, item {item}) was "
        f"already given on line {data.lines[first]}. Give one row per pair: aggregate repeated "
        "events first (e.g. the highest watch ratio, or the summed weight)."
    )


@dataclass(frozen=True)
class Candidates:
    """Per user, the items to rank (in file order), with the lines they came from."""

    path: str
    users: list[str]  # in order of first appearance
    items: dict[str, list[str]]
    lines: dict[str, list[int]]

    def all_items(self) -> set[str]:
        return {item for items in self.items.values() for item in items}

    def indexes(self, items: IdMap) -> dict[str, np.ndarray]:
        """Each user's candidates as indexes into `items`."""
        found: dict[str, np.ndarray] = {}
        for user, names in self.items.items():
            index = [items.get(name) for name in names]
            for name, at, line in zip(names, index, self.lines[user], strict=True):
                if at is None:
                    raise InputError(
                        f"{self.path}, line {line}: item {name!r} is not one of the model's "
                        f"{len(items):,} items (with feature files: ids 0..{len(items) - 1})."
                    )
            found[user] = np.asarray(index, dtype=np.int64)
        return found


def read_candidates(path: Path) -> Candidates:
    """A `user,item` CSV of candidates to rank. New users are fine (the prior ranks their
    candidates), and so are new items (they join the catalogue with no interactions)."""
    order: list[str] = []
    items: dict[str, list[str]] = {}
    lines: dict[str, list[int]] = {}
    first_line: dict[tuple[str, str], int] = {}
    with _open_csv(path) as handle:
        rows = _rows(path, handle)
        header = _header(path, rows, ("user", "item"), set())
        u_col, i_col = header.index("user"), header.index("item")
        for line, row in rows:
            if len(row) != 2:
                raise InputError(f"{path}, line {line}: expected 2 fields (user,item).")
            user, item = row[u_col], row[i_col]
            if not user or not item:
                raise InputError(f"{path}, line {line}: empty {'user' if not user else 'item'}.")
            if (user, item) in first_line:
                raise InputError(
                    f"{path}, line {line}: the candidate (user {user}, item {item}) was already "
                    f"given on line {first_line[user, item]}."
                )
            first_line[user, item] = line
            if user not in items:
                order.append(user)
                items[user], lines[user] = [], []
            items[user].append(item)
            lines[user].append(line)
    return Candidates(str(path), order, items, lines)


def read_predictions(path: Path) -> dict[str, list[str]]:
    """A `user,item,rank,score` CSV (what `playback recsys rank` writes): each user's items in
    rank order."""
    per_user: dict[str, list[tuple[int, str]]] = {}
    first_line: dict[tuple[str, str], int] = {}
    rank_line: dict[tuple[str, int], int] = {}
    with _open_csv(path) as handle:
        rows = _rows(path, handle)
        header = _header(path, rows, ("user", "item", "rank", "score"), set())
        col = {name: header.index(name) for name in header}
        for line, row in rows:
            if len(row) != 4:
                raise InputError(f"{path}, line {line}: expected 4 fields (user,item,rank,score).")
            user, item = row[col["user"]], row[col["item"]]
            if not user or not item:
                raise InputError(f"{path}, line {line}: empty {'user' if not user else 'item'}.")
            text = row[col["rank"]]
            if not is_integer_id(text) or int(text) < 1:
                raise InputError(f"{path}, line {line}: rank {text!r} is not a whole number ≥ 1.")
            rank = int(text)
            _number(path, line, "score", row[col["score"]])
            if (user, item) in first_line:
                raise InputError(
                    f"{path}, line {line}: (user {user}, item {item}) was already ranked on line "
                    f"{first_line[user, item]}."
                )
            if (user, rank) in rank_line:
                raise InputError(
                    f"{path}, line {line}: user {user} already has rank {rank} on line "
                    f"{rank_line[user, rank]}."
                )
            first_line[user, item] = line
            rank_line[user, rank] = line
            per_user.setdefault(user, []).append((rank, item))
    return {user: [item for _, item in sorted(pairs)] for user, pairs in per_user.items()}


def read_user_list(path: Path) -> list[str]:
    """A one-column CSV with the header `user`."""
    users: list[str] = []
    first_line: dict[str, int] = {}
    with _open_csv(path) as handle:
        rows = _rows(path, handle)
        _header(path, rows, ("user",), set())
        for line, row in rows:
            if len(row) != 1 or not row[0]:
                raise InputError(f"{path}, line {line}: expected one user id per line.")
            if row[0] in first_line:
                raise InputError(
                    f"{path}, line {line}: user {row[0]} was already listed on line "
                    f"{first_line[row[0]]}."
                )
            first_line[row[0]] = line
            users.append(row[0])
    return users


def read_features(files: Mapping[str, Path]) -> dict[str, np.ndarray]:
    """Item feature matrices by name (float32, one row per item). All must have the same
    number of rows, and every value must be finite."""
    features: dict[str, np.ndarray] = {}
    rows: tuple[int, Path] | None = None
    for name, path in files.items():
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise InputError(f"{path}: not a readable .npy array ({exc}).") from exc
        if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
            shape = getattr(matrix, "shape", "an archive")
            raise InputError(f"{path}: expected a 2-D array (items × features), got {shape}.")
        if not (
            np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)
        ):
            raise InputError(f"{path}: expected numbers, got dtype {matrix.dtype}.")
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise InputError(f"{path}: the array is empty ({matrix.shape}).")
        matrix = matrix.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
        if len(bad):
            raise InputError(f"{path}: row {bad[0]} (item {bad[0]}) holds NaN or infinity.")
        if rows is not None and matrix.shape[0] != rows[0]:
            raise InputError(
                f"{path}: {matrix.shape[0]} rows, but {rows[1]} has {rows[0]}: every feature "
                "file needs one row per item."
            )
        rows = (matrix.shape[0], path)
        features[name] = matrix
    return features


def parse_feature_options(options: Sequence[str]) -> dict[str, Path]:
    """`NAME=FILE` options into {NAME: FILE}."""
    files: dict[str, Path] = {}
    for option in options:
        name, sep, file = option.partition("=")
        if not sep or not name or not file:
            raise InputError(f"--item-features {option!r}: expected NAME=FILE.npy.")
        if name in files:
            raise InputError(f"--item-features: the name {name!r} is given twice.")
        files[name] = Path(file)
    return files


def catalogue_of(features: Mapping[str, np.ndarray], files: Mapping[str, Path]) -> tuple[int, str]:
    """(number of items, the file that says so) for read_interactions."""
    name = next(iter(features))
    return features[name].shape[0], str(files[name])
