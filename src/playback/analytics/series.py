"""The monthly series a growth forecast starts from, and the numbers it is asked about.

A ``Series`` is built only through the checks: from in-memory pairs (``Series.from_pairs``) or
from CSV (``read_series_csv``). Gaps, duplicate or unordered months, negative or non-numeric
values and series too short to judge a model are refused with a ``series_*`` code; a threshold
people write ("600 million", "1.5B") is read by ``parse_threshold`` or refused with
``bad_threshold``. Each refusal is a ``playback.errors.Invalid``, as in ``forecast.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from playback.analytics.growth_models import MODELS
from playback.errors import Invalid

HOLDOUT_SHARE = 0.2
MIN_HOLDOUT = 2


# --- months -----------------------------------------------------------------------------------


def _month_number(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def add_months(month: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``month``."""
    number = _month_number(month) + months
    return dt.date(number // 12, number % 12 + 1, 1)


def _label(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


# --- the series -------------------------------------------------------------------------------


def holdout_size(points: int) -> int:
    """Months held back to choose the model: the last fifth, and never fewer than two, so the
    choice rests on a trend rather than on one month's noise."""
    return max(MIN_HOLDOUT, round(points * HOLDOUT_SHARE))


@dataclass(frozen=True)
class Series:
    """Monthly values, oldest first, one per calendar month with none missing (months are the
    first of the month). Built only through the checks, so a forecast never starts from a
    series it cannot honestly fit."""

    months: tuple[dt.date, ...]
    values: tuple[float, ...]
    name: str = "value"

    def __post_init__(self) -> None:
        if len(self.months) != len(self.values):
            raise ValueError("a Series needs one value per month")
        _check_points(self.months, self.values, [f"point {i + 1}" for i in range(len(self))])

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[dt.date, float]], name: str = "value") -> Series:
        """A series from in-memory (month, value) pairs, e.g. the platform's own monthly
        active users; the day of each date is ignored."""
        months: list[dt.date] = []
        values: list[float] = []
        for i, (month, value) in enumerate(pairs, start=1):
            if not isinstance(month, dt.date):
                raise Invalid(f"point {i}: {month!r} is not a date", code="series_bad_date")
            months.append(dt.date(month.year, month.month, 1))
            values.append(_point_value(value, f"point {i}"))
        return cls(tuple(months), tuple(values), name)

    def __len__(self) -> int:
        return len(self.months)

    def __iter__(self) -> Iterator[tuple[dt.date, float]]:
        return zip(self.months, self.values, strict=True)

    @property
    def points(self) -> list[tuple[dt.date, float]]:
        return list(self)


def minimum_points() -> int:
    """The shortest series that leaves the largest model as many months as it has parameters
    after the holdout: anything shorter would make the forecast up."""
    largest = max(model.n_params for model in MODELS.values())
    points = largest + MIN_HOLDOUT
    while points - holdout_size(points) < largest:
        points += 1
    return points


def _point_value(value: object, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Invalid(f"{where}: {value!r} is not a number", code="series_not_numeric") from None
    if not math.isfinite(number):
        raise Invalid(f"{where}: {value!r} is not a finite number", code="series_not_numeric")
    return number


def _check_points(
    months: Sequence[dt.date], values: Sequence[float], labels: Sequence[str]
) -> None:
    if not months:
        raise Invalid("The series has no months.", code="series_empty")
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        where = labels[i]
        if month.day != 1:
            raise Invalid(
                f"{where}: {month.isoformat()} is not the first of a month", code="series_bad_date"
            )
        if not math.isfinite(value):
            raise Invalid(f"{where}: {value!r} is not a finite number", code="series_not_numeric")
        if value < 0:
            raise Invalid(f"{where}: {value:g} is negative", code="series_negative")
        if i:
            _check_step(months[i - 1], month, labels[i - 1], where)
    if not any(values):
        raise Invalid("Every value is 0: there is no growth to fit.", code="series_all_zero")
    needed = minimum_points()
    if len(months) < needed:
        raise Invalid(
            f"The series has {len(months)} months; a forecast needs at least {needed} "
            f"({needed - MIN_HOLDOUT} to fit the largest model and {MIN_HOLDOUT} held out to "
            "judge it).",
            code="series_too_short",
        )


def _check_step(before: dt.date, month: dt.date, before_where: str, where: str) -> None:
    step = _month_number(month) - _month_number(before)
    if step == 0:
        raise Invalid(
            f"{where}: {_label(month)} is already on {before_where}", code="series_duplicate_month"
        )
    if step < 0:
        raise Invalid(
            f"{where}: {_label(month)} is earlier than {_label(before)} on {before_where}; "
            "months must be oldest first",
            code="series_unordered",
        )
    if step > 1:
        missing = _label(add_months(before, 1))
        more = f" (and {step - 2} more)" if step > 2 else ""
        raise Invalid(
            f"{where}: {missing}{more} is missing between {_label(before)} and {_label(month)}",
            code="series_gap",
        )


_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def _parse_month(text: str, where: str) -> dt.date:
    match = _MONTH.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        year, month, day = match.groups()
        dt.date(int(year), int(month), int(day or 1))  # the day must exist even if ignored
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise Invalid(
            f"{where}: {text!r} is not a month (YYYY-MM or YYYY-MM-DD)", code="series_bad_date"
        ) from None


def _plain_number(text: str) -> str:
    """Digits grouped by thousands ("1,000,000") read as the number they show."""
    text = text.strip()
    return text.replace(",", "") if _GROUPED.fullmatch(text) else text


def _read_text(source: Path | str) -> str:
    """A ``str`` with a line break is CSV text; any other ``str`` or a ``Path`` is a file."""
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return source.removeprefix("\ufeff")
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(f"{path}: the file is not UTF-8 text", code="series_not_utf8") from None
    except OSError as exc:
        raise Invalid(f"{path}: {exc.strerror or exc}", code="series_unreadable") from None


def _header(row: list[str], where: str) -> tuple[int, str]:
    """The month column's position and the value column's name."""
    names = [name.strip() for name in row]
    dated = [i for i, name in enumerate(names) if name.lower() in ("month", "date")]
    if len(names) != 2 or len(dated) != 1:
        raise Invalid(
            f"{where}: the header must be two columns, `month` (or `date`) and the value; "
            f"found {', '.join(names) or 'nothing'}",
            code="series_bad_header",
        )
    month_at = dated[0]
    return month_at, names[1 - month_at] or "value"


def read_series_csv(source: Path | str) -> Series:
    """A series from CSV (a path, or the text itself): a header of two columns, ``month`` or
    ``date`` (YYYY-MM or YYYY-MM-DD, the day ignored) and the value, then one row per month.
    Blank lines are skipped; everything else wrong is refused, naming its line."""
    reader = csv.reader(io.StringIO(_read_text(source)))
    month_at: int | None = None
    name = "value"
    months: list[dt.date] = []
    values: list[float] = []
    lines: list[str] = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(field.strip() for field in row):
                continue
            if month_at is None:
                month_at, name = _header(row, where)
                continue
            if len(row) != 2:
                raise Invalid(
                    f"{where}: expected 2 fields, found {len(row)}", code="series_bad_row"
                )
            months.append(_parse_month(row[month_at], where))
            values.append(_point_value(_plain_number(row[1 - month_at]), where))
            lines.append(where)
    except csv.Error as exc:
        raise Invalid(f"line {reader.line_num}: {exc}", code="series_bad_row") from None
    _check_points(months, values, lines)
    return Series(tuple(months), tuple(values), name)


_THRESHOLD = re.compile(
    r"(?P<number>\d[\d,]*(?:\.\d*)?|\.\d+)(?P<exponent>e[+-]?\d+)?\s*(?P<unit>[a-z]*)",
    re.IGNORECASE,
)
_UNITS = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}


def parse_threshold(text: str) -> float:
    """A number of users as people write it: "600 million", "1.5B", "250k", "2e9",
    "1,000,000"."""
    match = _THRESHOLD.fullmatch(text.strip())
    refusal = Invalid(
        f"{text!r} is not a number of users (e.g. 600M, 1.5B, 1 billion, 2e9, 1,000,000)",
        code="bad_threshold",
    )
    if match is None or match["unit"].lower() not in _UNITS:
        raise refusal
    number = match["number"]
    if "," in number and not _GROUPED.fullmatch(number):
        raise refusal
    value = (
        float(number.replace(",", "") + (match["exponent"] or "")) * _UNITS[match["unit"].lower()]
    )
    if not math.isfinite(value) or value <= 0:
        raise refusal
    return value
