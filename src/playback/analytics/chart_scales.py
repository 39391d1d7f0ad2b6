"""The numbers around a chart: how values are written (``fmt_int``, ``fmt_compact``,
``fmt_percent``, ``fmt_duration_ms``, rounding half up on the decimal a float reads as), the
nice value axis (``nice_scale``) and which x labels fit (``visible_labels``). ``charts.py``
draws with them; pages reach the formatters as ``charts.fmt_*``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

Formatter = Callable[[float], str]
Number = int | float

MAX_X_LABELS = 8
# Text cannot be measured on the server: label room is estimated from the average advance of
# an 11 px sans-serif glyph, generously, so that labels never touch.
CHAR_WIDTH = 6.5
LABEL_GAP = 24
_NICE_STEPS = (10, 20, 25, 50)  # × 10^(k-1): steps of 1, 2, 2.5 and 5 × 10^k


# --- formatters ---------------------------------------------------------------------------


def _decimal(value: Number) -> Decimal:
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    # repr is the shortest text that reads back as the same float, so 1.25 rounds to 1.3.
    return Decimal(repr(float(value)))


def _rounded(value: Decimal, places: int) -> Decimal:
    result = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return abs(result) if result == 0 else result  # no "-0"


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def plain_decimal(value: Number) -> str:
    """The value as the shortest decimal that reads back as it, without trailing zeros:
    2.50 → "2.5", 1000.0 → "1000" (the axes' ``data-tick``)."""
    return _plain(_decimal(value))


def fmt_int(value: float) -> str:
    """1234.4 → "1,234"."""
    return f"{int(_rounded(_decimal(value), 0)):,}"


_COMPACT_UNITS = ((1, ""), (10**3, "K"), (10**6, "M"), (10**9, "B"), (10**12, "T"))


def fmt_compact(value: float) -> str:
    """1_234 → "1.2K", 3_400_000 → "3.4M", 1_100_000_000 → "1.1B"; 12.5 → "12.5"."""
    number = _decimal(value)
    size = abs(number)
    index = max(i for i, (unit, _) in enumerate(_COMPACT_UNITS) if i == 0 or size >= unit)
    shown = _rounded(size / _COMPACT_UNITS[index][0], 2 if index == 0 else 1)
    if shown >= 1000 and index + 1 < len(_COMPACT_UNITS):  # 999_960 is "1M", not "1000K"
        index += 1
        shown = _rounded(size / _COMPACT_UNITS[index][0], 1)
    sign = "-" if number < 0 and shown else ""
    return f"{sign}{_plain(shown)}{_COMPACT_UNITS[index][1]}"


def fmt_percent(value: float) -> str:
    """A share from 0 to 1: 0.45 → "45 %", 0.0456 → "4.6 %" (at most one decimal)."""
    return f"{_plain(_rounded(_decimal(value) * 100, 1))} %"


def fmt_duration_ms(value: float) -> str:
    """Milliseconds: 12_345 → "12.3 s", 65_000 → "1m 05s", 3_720_000 → "1h 02m"."""
    number = _decimal(value)
    seconds = abs(number) / 1000
    tenths = _rounded(seconds, 1)
    sign = "-" if number < 0 and tenths else ""
    if tenths < 60:
        return f"{sign}{_plain(tenths)} s"
    whole = int(_rounded(seconds, 0))
    if whole < 3600:
        return f"{sign}{whole // 60}m {whole % 60:02d}s"
    minutes = int(_rounded(seconds / 60, 0))
    return f"{sign}{minutes // 60}h {minutes % 60:02d}m"


# --- scales and labels --------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """A value axis from ``low`` to ``high`` in ``step``s of 1, 2, 2.5 or 5 × 10^k."""

    low: float
    high: float
    step: float
    ticks: tuple[float, ...]

    def at(self, value: float, start: float, end: float) -> float:
        """Where ``value`` falls between the pixels ``start`` (low) and ``end`` (high)."""
        return start + (value - self.low) / (self.high - self.low) * (end - start)


def nice_scale(low: float, high: float) -> Scale:
    """The axis for values from ``low`` to ``high``: from 0 (or a nice minimum below 0) to a
    nice maximum, with 4 to 6 ticks."""
    lo, hi = _decimal(min(low, 0)), _decimal(max(high, 0))
    if lo == hi:
        hi = lo + 1
    exponent = math.floor(math.log10(float(hi - lo) / 5)) - 1
    while True:
        for multiple in _NICE_STEPS:
            step = Decimal(multiple).scaleb(exponent)
            first, last = math.floor(lo / step), math.ceil(hi / step)
            if last - first <= 5:
                last = max(last, first + 3)  # never fewer than four ticks
                ticks = tuple(float(i * step) for i in range(first, last + 1))
                return Scale(ticks[0], ticks[-1], float(step), ticks)
        exponent += 1


def width_of(text: str) -> float:
    """The room ``text`` takes on screen, estimated (see ``CHAR_WIDTH``)."""
    return len(text) * CHAR_WIDTH


def visible_labels(labels: Sequence[str], room: float) -> list[int]:
    """Indices of the x labels to show so that none overlap in ``room`` pixels: at most
    ``MAX_X_LABELS``, evenly spread, always including the last (the most recent)."""
    if not labels:
        return []
    widest = max(width_of(label) for label in labels) + LABEL_GAP
    fits = max(1, min(MAX_X_LABELS, int(room // widest)))
    every = math.ceil(len(labels) / fits)
    return [i for i in range(len(labels)) if (len(labels) - 1 - i) % every == 0]
