"""The growth forecast: where monthly active users level off, and when they pass given numbers.

Three saturating curves are fitted to a monthly series; the one that best predicts the months it
was not shown is kept, and a residual bootstrap says how sure each answer is. Every refusal is a
``playback.errors.Invalid`` with a stable code, so the CLI and the API report it the same way.

The series and its checks live in ``series.py``, the curves in ``growth_models.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from playback.analytics.growth_models import CEILING_CAP, MODELS, Bounds, Floats, GrowthModel
from playback.analytics.series import Series, add_months, holdout_size
from playback.errors import Invalid

Progress = Callable[[int, int], None]  # (replicates done, replicates in all)

# Crossings are dated up to this many months after the first month. Further out a date says
# nothing the data can back, and calendar arithmetic would eventually overflow.
CROSSING_LIMIT_MONTHS = 1200
ERROR_METRIC = "nrmse"  # RMSE over the held-out months divided by their mean
NOISE_FLOOR = 0.01  # see _noise_scale


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
        found = _weighted_fit(model, t, scaled, sigma, np.clip(start, lower, upper), (lower, upper))
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


def _weighted_fit(
    model: GrowthModel, t: Floats, y: Floats, sigma: Floats, start: Floats, bounds: Bounds
) -> Floats | None:
    """Weighted, bounded least squares (what ``curve_fit`` does with bounds, minus the
    covariance it would estimate and warn about: nothing here uses it). No warning filters are
    touched, so fits on several threads at once are safe."""

    def residuals(p: Floats) -> Floats:
        return np.asarray((model.curve(t, *p) - y) / sigma, dtype=float)

    def jacobian(p: Floats) -> Floats:
        return np.asarray(model.jacobian(t, *p), dtype=float) / sigma[:, None]

    with np.errstate(all="ignore"):  # numpy's error state is per thread
        try:
            found = least_squares(
                residuals, start, jac=jacobian, bounds=bounds, method="trf", x_scale="jac"
            )
        except (RuntimeError, ValueError):
            return None
    if not found.success or not np.all(np.isfinite(found.x)):
        return None
    return np.asarray(found.x, dtype=float)


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
