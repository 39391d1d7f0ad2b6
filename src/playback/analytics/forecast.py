"""The growth forecast: where monthly active users level off, and when they pass given numbers.

Three saturating curves are fitted to a monthly series; the one that best predicts the months it
was not shown is kept, and a residual bootstrap says how sure each answer is. Every refusal is a
``playback.errors.Invalid`` with a stable code, so the CLI and the API report it the same way.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

from playback.errors import Invalid

Progress = Callable[[int, int], None]  # (replicates done, replicates in all)

# A ceiling fitted at this multiple of the series' largest value is the optimiser running away:
# the months show no levelling off yet, so no ceiling (and no date) can be read from them.
CEILING_CAP = 100.0
# The ceiling may sit a little below the largest month: near saturation the top months scatter
# around it, and a ceiling forced above the highest of them is pushed up by that noise (on 60
# near-saturated logistic series with 2 % noise, forcing it kept the truth out of the 95 %
# interval in 63 % of them). Far below the largest month, though, it is no ceiling.
CEILING_FLOOR = 0.9
# Crossings are dated up to this many months after the first month. Further out a date says
# nothing the data can back, and calendar arithmetic would eventually overflow.
CROSSING_LIMIT_MONTHS = 1200
HOLDOUT_SHARE = 0.2
MIN_HOLDOUT = 2
ERROR_METRIC = "nrmse"  # RMSE over the held-out months divided by their mean
NOISE_FLOOR = 0.01  # see _noise_scale


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


# --- the models -------------------------------------------------------------------------------

Floats = np.ndarray[Any, np.dtype[np.float64]]
Bounds = tuple[list[float], list[float]]


def _logistic(t: Any, ceiling: Any, r: Any, t0: Any) -> Any:
    return ceiling * expit(r * (t - t0))


def _logistic_jacobian(t: Any, ceiling: Any, r: Any, t0: Any) -> Any:
    share = expit(r * (t - t0))
    slope = ceiling * share * (1 - share)
    return np.column_stack([share, slope * (t - t0), -slope * r])


def _logistic_crossing(level: float, ceiling: float, r: float, t0: float) -> float:
    return t0 - math.log(ceiling / level - 1) / r


def _gompertz(t: Any, ceiling: Any, b: Any, c: Any) -> Any:
    return ceiling * np.exp(-b * np.exp(-c * t))


def _gompertz_jacobian(t: Any, ceiling: Any, b: Any, c: Any) -> Any:
    decay = np.exp(-c * t)
    share = np.exp(-b * decay)
    return np.column_stack([share, -ceiling * share * decay, ceiling * share * b * t * decay])


def _gompertz_crossing(level: float, ceiling: float, b: float, c: float) -> float:
    return -math.log(math.log(ceiling / level) / b) / c


# Bass is fitted as m (1 - w E) / (1 + c E) with E = exp(-s t): the same curve as
# m F(t + tau) for s = p + q, w = exp(-s tau) and c = (q/p) w, but the limit p -> 0 (the
# logistic curve, which Bass contains) is the edge w = 0 rather than a valley running to
# infinity, so fits end in a few steps. 0 <= w <= 1 is exactly tau >= 0.


def _bass(t: Any, m: Any, s: Any, c: Any, w: Any) -> Any:
    decay = np.exp(-s * t)
    return m * (1 - w * decay) / (1 + c * decay)


def _bass_jacobian(t: Any, m: Any, s: Any, c: Any, w: Any) -> Any:
    decay = np.exp(-s * t)
    denominator = 1 + c * decay
    return np.column_stack(
        [
            (1 - w * decay) / denominator,
            m * (w + c) * t * decay / denominator**2,
            -m * (1 - w * decay) * decay / denominator**2,
            -m * decay / denominator,
        ]
    )


def _bass_crossing(level: float, m: float, s: float, c: float, w: float) -> float:
    share = level / m
    return -math.log((1 - share) / (w + share * c)) / s


def _bass_named(m: float, s: float, c: float, w: float) -> dict[str, float]:
    return {"m": m, "p": s * w / (w + c), "q": s * c / (w + c), "tau": -math.log(w) / s}


def _linearised(
    t: Floats, y: Floats, ceiling: float, transform: Callable[[Floats], Floats]
) -> tuple[float, float] | None:
    """Slope and intercept of a straight line through the transformed values that lie strictly
    between 0 and the ceiling: the classic way to read a curve's rates before fitting it."""
    inside = (y > 0) & (y < ceiling)
    if np.count_nonzero(inside) < 2:
        return None
    slope, intercept = np.polyfit(t[inside], transform(y[inside] / ceiling), 1)
    return float(slope), float(intercept)


_CEILING_GUESSES = (1.02, 1.2, 1.6, 3.0)


def _logistic_starts(t: Floats, y: Floats) -> list[tuple[float, ...]]:
    starts: list[tuple[float, ...]] = []
    for ceiling in _CEILING_GUESSES:
        line = _linearised(t, y, ceiling, lambda share: np.log(share / (1 - share)))
        if line is not None and line[0] > 0:
            starts.append((ceiling, line[0], -line[1] / line[0]))
    return starts or [(1.2, 0.1, float(t[-1]))]


def _gompertz_starts(t: Floats, y: Floats) -> list[tuple[float, ...]]:
    starts: list[tuple[float, ...]] = []
    for ceiling in _CEILING_GUESSES:
        line = _linearised(t, y, ceiling, lambda share: np.log(-np.log(share)))
        if line is not None and line[0] < 0:
            starts.append((ceiling, math.exp(line[1]), -line[0]))
    return starts or [(1.2, 5.0, 0.05)]


def _bass_starts(t: Floats, y: Floats) -> list[tuple[float, ...]]:
    """From each logistic start (w = 0, c = exp(r t0)), and from there with imitation less
    dominant (w > 0)."""
    return [
        (ceiling, r, min(math.exp(min(r * t0, 700.0)), _BASS_C_MAX), w)
        for ceiling, r, t0 in _logistic_starts(t, y)
        for w in (0.0, 0.5, 1.0)
    ]


_BASS_C_MAX = 1e15


def _logistic_bounds(months: int) -> Bounds:
    return [CEILING_FLOOR, 1e-4, -10.0 * months], [CEILING_CAP, 10.0, 10.0 * months]


def _gompertz_bounds(months: int) -> Bounds:
    return [CEILING_FLOOR, 1e-6, 1e-4], [CEILING_CAP, 1e3, 10.0]


def _bass_bounds(months: int) -> Bounds:
    # w stays a hair above 0 so p and tau stay finite numbers to report.
    return [CEILING_FLOOR, 1e-4, 0.0, 1e-12], [CEILING_CAP, 10.0, _BASS_C_MAX, 1.0]


def _as_named(names: tuple[str, ...]) -> Callable[..., dict[str, float]]:
    def named(*params: float) -> dict[str, float]:
        return dict(zip(names, params, strict=True))

    return named


@dataclass(frozen=True)
class GrowthModel:
    """A cumulative saturating curve of time in months since the first point. The first fitted
    parameter is always the ceiling, and the curve is proportional to it, which is what lets
    fits run on values divided by the series' largest. ``params`` are the names reported;
    ``named`` turns the fitted vector into them."""

    name: str
    params: tuple[str, ...]
    formula: str
    curve: Callable[..., Any]
    jacobian: Callable[..., Any]  # d curve / d fitted parameters, one column each
    crossing: Callable[..., float]  # (level, *fitted) -> the moment the curve reaches level
    starts: Callable[[Floats, Floats], list[tuple[float, ...]]]
    bounds: Callable[[int], Bounds]
    named: Callable[..., dict[str, float]]

    @property
    def n_params(self) -> int:
        return len(self.params)


_LOGISTIC = ("K", "r", "t0")
_GOMPERTZ = ("K", "b", "c")

MODELS: dict[str, GrowthModel] = {
    model.name: model
    for model in (
        GrowthModel(
            "logistic",
            _LOGISTIC,
            "K / (1 + exp(-r (t - t0)))",
            _logistic,
            _logistic_jacobian,
            _logistic_crossing,
            _logistic_starts,
            _logistic_bounds,
            _as_named(_LOGISTIC),
        ),
        GrowthModel(
            "gompertz",
            _GOMPERTZ,
            "K exp(-b exp(-c t))",
            _gompertz,
            _gompertz_jacobian,
            _gompertz_crossing,
            _gompertz_starts,
            _gompertz_bounds,
            _as_named(_GOMPERTZ),
        ),
        GrowthModel(
            "bass",
            ("m", "p", "q", "tau"),
            "m F(t + tau), F(x) = (1 - exp(-(p+q) x)) / (1 + (q/p) exp(-(p+q) x)), tau >= 0: "
            "adoption began tau months before the first point",
            _bass,
            _bass_jacobian,
            _bass_crossing,
            _bass_starts,
            _bass_bounds,
            _bass_named,
        ),
    )
}


# --- fitting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fit:
    params: Floats  # in the series' own units
    unbounded: bool  # the ceiling ran to CEILING_CAP


def _fit(model: GrowthModel, t: Floats, y: Floats, starts: Sequence[Floats] = ()) -> _Fit | None:
    """The best least-squares fit over several starting points (each month weighted by its
    size, see _noise_scale), or None if none converged. Values are divided by the series'
    largest so the optimiser sees numbers near 1 whether the series counts hundreds or
    billions."""
    scale = float(np.max(y))
    if scale <= 0:
        return None
    scaled = y / scale
    sigma = _noise_scale(scaled)
    lower, upper = model.bounds(int(t[-1]) + 1)
    tries = [s / np.array([scale] + [1.0] * (model.n_params - 1)) for s in starts] or [
        np.array(s, dtype=float) for s in model.starts(t, scaled)
    ]
    best: tuple[float, Floats] | None = None
    for start in tries:
        found = _curve_fit(model, t, scaled, sigma, np.clip(start, lower, upper), (lower, upper))
        if found is None:
            continue
        with np.errstate(all="ignore"):
            sse = float(np.sum(((model.curve(t, *found) - scaled) / sigma) ** 2))
        if math.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, found)
    if best is None:
        return None
    params = best[1].copy()
    unbounded = params[0] >= CEILING_CAP * (1 - 1e-3)
    params[0] *= scale
    return _Fit(params, bool(unbounded))


def _noise_scale(values: Floats) -> Floats:
    """How much each month may wander: in proportion to its size (1 % of 1 billion is 10
    million people, 1 % of 1 million is ten thousand), with a floor so the first few, tiny
    months do not outweigh the rest."""
    return np.maximum(values, NOISE_FLOOR * float(np.max(values)))


def _curve_fit(
    model: GrowthModel, t: Floats, y: Floats, sigma: Floats, start: Floats, bounds: Bounds
) -> Floats | None:
    # The covariance curve_fit estimates is not used here, so its warning about it is noise.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            found, _ = curve_fit(
                model.curve,
                t,
                y,
                p0=start,
                sigma=sigma,
                bounds=bounds,
                jac=model.jacobian,
                x_scale="jac",
            )
        except (RuntimeError, ValueError):
            return None
    return found if np.all(np.isfinite(found)) else None


def _holdout_error(model: GrowthModel, t: Floats, y: Floats, held: int) -> float | None:
    """Normalised RMSE on the last ``held`` months of a fit that did not see them. RMSE rather
    than MAPE: a month with 0 users would make MAPE infinite."""
    fit = _fit(model, t[:-held], y[:-held])
    if fit is None:
        return None
    actual = y[-held:]
    with np.errstate(all="ignore"):
        rmse = float(np.sqrt(np.mean((model.curve(t[-held:], *fit.params) - actual) ** 2)))
    scale = float(np.mean(actual)) or float(np.max(y))
    error = rmse / scale
    return error if math.isfinite(error) else None


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Where a value lies with probability ``level``. ``high`` is None when the data do not
    bound it: enough replicates had their ceiling run away."""

    level: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class MonthInterval:
    """When a threshold is passed with probability ``level``. ``latest`` is None when more
    replicates than the interval's upper share never pass it (or only past the limit), and
    ``earliest`` too when even its lower share do not."""

    level: float
    earliest: dt.date | None
    latest: dt.date | None


@dataclass(frozen=True)
class ModelResult:
    """One model: its parameters fitted on the whole series, its error on the held-out months
    when fitted without them, and why it could not be used if it could not."""

    name: str
    params: dict[str, float] | None
    holdout_error: float | None
    converged: bool
    note: str | None = None


@dataclass(frozen=True)
class Ceiling:
    value: float
    intervals: tuple[Interval, ...]


OBSERVED = "observed"  # the fitted curve passes it within the series' months
PROJECTED = "projected"
ABOVE_CEILING = "above_ceiling"
BEYOND_LIMIT = "beyond_limit"  # below the ceiling, but more than CROSSING_LIMIT_MONTHS out


@dataclass(frozen=True)
class ThresholdResult:
    """The first month, from the series' start on, when the fitted curve is at or above the
    threshold (None when it is not reached), and in what share of replicates it is reached."""

    threshold: float
    status: str
    month: dt.date | None
    share_reached: float
    intervals: tuple[MonthInterval, ...]

    @property
    def reached(self) -> bool:
        return self.month is not None


@dataclass(frozen=True)
class FittedPoint:
    month: dt.date
    observed: float
    fitted: float


@dataclass(frozen=True)
class ProjectedPoint:
    """The curve in a future month and where it lies (the fan). It is the trend's interval:
    single months scatter around it as much as the observed ones did."""

    month: dt.date
    value: float
    intervals: tuple[Interval, ...]


@dataclass(frozen=True)
class Forecast:
    """Everything a reader of the forecast needs, in plain values: the CLI prints it, the web
    pages draw it and the API serves ``to_json()``."""

    series_name: str
    model: str
    models: tuple[ModelResult, ...]
    holdout_months: int
    ceiling: Ceiling
    thresholds: tuple[ThresholdResult, ...]
    fitted: tuple[FittedPoint, ...]
    projection: tuple[ProjectedPoint, ...]
    levels: tuple[float, ...]
    replicates: int
    replicates_used: int
    seed: int

    @property
    def chosen(self) -> ModelResult:
        return next(result for result in self.models if result.name == self.model)

    def to_json(self) -> dict[str, Any]:
        """The forecast as JSON-ready values: dates as ISO strings, no NaN or infinity."""
        plain = _plain(self)
        series = {
            "name": plain.pop("series_name"),
            "first_month": plain["fitted"][0]["month"],
            "last_month": plain["fitted"][-1]["month"],
            "months": len(self.fitted),
        }
        bootstrap = {key: plain.pop(key) for key in ("levels", "replicates", "replicates_used")}
        bootstrap["seed"] = plain.pop("seed")
        return {"series": series, "error_metric": ERROR_METRIC, **plain, "bootstrap": bootstrap}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --- the forecast -----------------------------------------------------------------------------


def _model_result(
    model: GrowthModel, fit: _Fit | None, error: float | None, trained_months: int
) -> ModelResult:
    if fit is None:
        note: str | None = "did not converge on the whole series"
    elif fit.unbounded:
        note = (
            f"the ceiling ran to {CEILING_CAP:g}× the largest value: the months show no "
            "levelling off yet"
        )
    elif error is None:
        note = f"did not converge on the first {trained_months} months"
    else:
        note = None
    params = None if fit is None else model.named(*map(float, fit.params))
    converged = fit is not None and not fit.unbounded
    return ModelResult(model.name, params, error, converged, note)


def _fit_models(
    t: Floats, y: Floats, held: int
) -> tuple[tuple[ModelResult, ...], dict[str, _Fit | None]]:
    fits = {name: _fit(model, t, y) for name, model in MODELS.items()}
    results = tuple(
        _model_result(model, fits[name], _holdout_error(model, t, y, held), len(y) - held)
        for name, model in MODELS.items()
    )
    return results, fits


def _choose(
    results: Sequence[ModelResult], fits: dict[str, _Fit | None]
) -> tuple[GrowthModel, _Fit]:
    """The lowest holdout error among the models that fitted both ways; on a tie, the one
    listed first in MODELS (fewer parameters)."""
    eligible = [
        (r.holdout_error, MODELS[r.name], fit)
        for r in results
        if r.converged and r.holdout_error is not None and (fit := fits[r.name]) is not None
    ]
    if not eligible:
        notes = "; ".join(f"{r.name}: {r.note}" for r in results)
        raise Invalid(f"No growth model fits this series ({notes}).", code="forecast_failed")
    _, model, fit = min(eligible, key=lambda chosen: chosen[0])
    return model, fit


def _modified_residuals(
    model: GrowthModel, t: Floats, y: Floats, params: Floats, spread: Floats
) -> Floats:
    """Standardised residuals, each divided by sqrt(1 - its leverage), then centred. A fit pulls
    itself towards the months it leans on most (the last ones, which carry the ceiling), so
    their raw residuals understate the noise, and resampled raw they give intervals too narrow
    (Davison & Hinkley, Bootstrap Methods and their Application, 6.2.3)."""
    standardised = (y - model.curve(t, *params)) / spread
    design = model.jacobian(t, *params) / spread[:, None]
    with np.errstate(all="ignore"):
        leverage = np.sum(design * np.linalg.pinv(design).T, axis=1)
    modified = standardised / np.sqrt(np.clip(1 - leverage, 0.05, 1.0))
    return modified - modified.mean()


@dataclass(frozen=True)
class _Replicates:
    params: list[Floats]
    unbounded: list[bool]


def _bootstrap(
    model: GrowthModel,
    t: Floats,
    y: Floats,
    fit: _Fit,
    replicates: int,
    seed: int,
    progress: Progress | None,
) -> _Replicates:
    """Refit the chosen model to its own curve plus residuals drawn with replacement (scaled
    to each month's size): how much the answer moves under noise like the series' own.
    Replicates that fail to converge are left out and counted."""
    fitted = model.curve(t, *fit.params)
    spread = _noise_scale(fitted)
    residuals = _modified_residuals(model, t, y, fit.params, spread)
    rng = np.random.default_rng(seed)
    found = _Replicates([], [])
    for done in range(1, replicates + 1):
        sample = fitted + spread * rng.choice(residuals, size=len(y), replace=True)
        refit = _fit(model, t, sample, starts=[fit.params])
        if refit is not None:
            found.params.append(refit.params)
            found.unbounded.append(refit.unbounded)
        if progress is not None:
            progress(done, replicates)
    if not found.params:
        raise Invalid("No bootstrap replicate could be fitted.", code="forecast_failed")
    return found


def _quantiles(values: Floats, level: float) -> tuple[float, float]:
    """The interval's ends, taken from the replicates themselves (no interpolation), so an
    infinite replicate (never reached, unbounded) stays infinite instead of turning NaN."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return float(low), float(high)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _ceiling(fit: _Fit, found: _Replicates, levels: Sequence[float]) -> Ceiling:
    ceilings = np.array(
        [math.inf if away else p[0] for p, away in zip(found.params, found.unbounded, strict=True)]
    )
    intervals = []
    for level in levels:
        low, high = _quantiles(ceilings, level)
        intervals.append(Interval(level, _finite(low), _finite(high)))
    return Ceiling(float(fit.params[0]), tuple(intervals))


def _crossing_month(model: GrowthModel, params: Floats, level: float) -> float:
    """Months after the first month until the curve is at or above ``level`` (0 if it already
    is at the start), or inf when it never is, or only past the limit."""
    if level >= params[0]:
        return math.inf
    try:
        moment = model.crossing(level, *map(float, params))
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.inf
    if not math.isfinite(moment) or moment > CROSSING_LIMIT_MONTHS:
        return math.inf
    return float(max(0, math.ceil(moment - 1e-9)))


def _threshold(
    model: GrowthModel,
    fit: _Fit,
    found: _Replicates,
    level: float,
    series: Series,
    levels: Sequence[float],
) -> ThresholdResult:
    def month(offset: float) -> dt.date | None:
        return add_months(series.months[0], int(offset)) if math.isfinite(offset) else None

    point = _crossing_month(model, fit.params, level)
    if level >= fit.params[0]:
        status = ABOVE_CEILING
    elif not math.isfinite(point):
        status = BEYOND_LIMIT
    else:
        status = OBSERVED if point < len(series) else PROJECTED
    crossings = np.array([_crossing_month(model, params, level) for params in found.params])
    intervals = []
    for interval_level in levels:
        low, high = _quantiles(crossings, interval_level)
        intervals.append(MonthInterval(interval_level, month(low), month(high)))
    share = float(np.mean(np.isfinite(crossings)))
    return ThresholdResult(level, status, month(point), share, tuple(intervals))


def _projection(
    model: GrowthModel,
    fit: _Fit,
    found: _Replicates,
    series: Series,
    ahead: int,
    levels: Sequence[float],
) -> tuple[ProjectedPoint, ...]:
    t = np.arange(len(series), len(series) + ahead, dtype=float)
    stacked = np.array(found.params)
    with np.errstate(all="ignore"):
        curves = model.curve(t[None, :], *(stacked[:, [i]] for i in range(model.n_params)))
    bands = {
        level: np.quantile(curves, [(1 - level) / 2, (1 + level) / 2], axis=0) for level in levels
    }
    return tuple(
        ProjectedPoint(
            add_months(series.months[0], int(t[j])),
            float(value),
            tuple(
                Interval(level, float(band[0, j]), float(band[1, j]))
                for level, band in bands.items()
            ),
        )
        for j, value in enumerate(model.curve(t, *fit.params))
    )


def _check_request(
    thresholds: Sequence[float], months_ahead: int, replicates: int, levels: Sequence[float]
) -> None:
    for threshold in thresholds:
        if not (math.isfinite(threshold) and threshold > 0):
            raise Invalid(f"{threshold!r} is not a number of users", code="bad_threshold")
    if months_ahead < 1:
        raise ValueError("months_ahead must be at least 1")
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    if not levels or not all(0 < level < 1 for level in levels):
        raise ValueError("levels are probabilities between 0 and 1")


def forecast(
    series: Series,
    thresholds: Sequence[float] = (),
    *,
    months_ahead: int = 60,
    replicates: int = 200,
    levels: Sequence[float] = (0.8, 0.95),
    seed: int = 0,
    progress: Progress | None = None,
) -> Forecast:
    """Fit every model, choose the one with the lowest error on the held-out months (refitted
    on the whole series), and bootstrap it for the ceiling, each threshold's month and the fan.
    The same series, options and seed always give the same forecast."""
    _check_request(thresholds, months_ahead, replicates, levels)
    y = np.asarray(series.values, dtype=float)
    t = np.arange(len(y), dtype=float)
    held = holdout_size(len(y))
    results, fits = _fit_models(t, y, held)
    model, fit = _choose(results, fits)
    found = _bootstrap(model, t, y, fit, replicates, seed, progress)
    fitted = model.curve(t, *fit.params)
    return Forecast(
        series_name=series.name,
        model=model.name,
        models=results,
        holdout_months=held,
        ceiling=_ceiling(fit, found, levels),
        thresholds=tuple(_threshold(model, fit, found, x, series, levels) for x in thresholds),
        fitted=tuple(
            FittedPoint(month, value, float(curve))
            for month, value, curve in zip(series.months, series.values, fitted, strict=True)
        ),
        projection=_projection(model, fit, found, series, months_ahead, levels),
        levels=tuple(levels),
        replicates=replicates,
        replicates_used=len(found.params),
        seed=seed,
    )
