"""The growth models a forecast chooses from: logistic, Gompertz and Bass diffusion, each a
saturating curve with its derivatives, the moment it reaches a level, its starting points for
the optimiser and its bounds (``forecast.py`` fits and compares them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

Floats = np.ndarray[Any, np.dtype[np.float64]]
Bounds = tuple[list[float], list[float]]

# A ceiling fitted at this multiple of the series' largest value is the optimiser running away:
# the months show no levelling off yet, so no ceiling (and no date) can be read from them.
CEILING_CAP = 100.0
# The ceiling may sit a little below the largest month: near saturation the top months scatter
# around it, and a ceiling forced above the highest of them is pushed up by that noise (on 60
# near-saturated logistic series with 2 % noise, forcing it kept the truth out of the 95 %
# interval in 63 % of them). Far below the largest month, though, it is no ceiling.
CEILING_FLOOR = 0.9


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
