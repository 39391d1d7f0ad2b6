"""Charts drawn by the server as inline SVG: lines (with a forecast band and markers), bars,
stacked bars and scatter plots, for the creator studio, trends and platform insights pages.

Every number a chart draws is also written on its element, exactly as given, as a data attribute
(``data-value``, ``data-x``…), so browser tests can check a page against the JSON API. Colours
come from CSS classes (``series-0``…``series-5``, ``band``, ``grid``, ``axis``) with inline
defaults so an SVG still reads on its own. Output is deterministic, so charts can be cached.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

Formatter = Callable[[float], str]
Number = int | float

EMPTY_MESSAGE = "No data for this period"
PALETTE = ("#fe2c55", "#25f4ee", "#f5a623", "#3ddc84", "#a78bfa", "#f472b6")
BAND_FILL, BAND_OPACITY = "#8a8b91", ".3"
MAX_X_LABELS = 8
FONT_SIZE = 11
# Text cannot be measured on the server: label room is estimated from the average advance of
# an 11 px sans-serif glyph, generously, so that labels never touch.
CHAR_WIDTH = 6.5
LABEL_GAP = 24
MAX_CATEGORY_CHARS = 24  # longer labels are cut on screen; data-label keeps the whole text
MIN_WIDTH, MIN_HEIGHT = 160, 100
_NICE_STEPS = (10, 20, 25, 50)  # × 10^(k-1): steps of 1, 2, 2.5 and 5 × 10^k
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Line:
    """One series aligned on the chart's x labels; None is a gap (the line breaks there)."""

    name: str
    values: Sequence[Number | None]
    unit: str = ""  # said after the value in tooltips: "1,234 views"


@dataclass(frozen=True)
class Band:
    """An interval drawn behind the lines (a forecast's uncertainty), None where unknown."""

    name: str
    low: Sequence[Number | None]
    high: Sequence[Number | None]


@dataclass(frozen=True)
class Point:
    x: Number
    y: Number
    label: str


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


# --- checking the input -------------------------------------------------------------------


def _number(value: object, where: str) -> Number:
    """The value as a plain int or float; NaN and infinities are the caller's bug."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {value!r} is not a number")
    result: Number = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(result):
        raise ValueError(f"{where}: {value!r} cannot be drawn")
    return result


def _values(values: Sequence[object], count: int, where: str) -> list[Number | None]:
    if len(values) == 0:  # a series without any data draws nothing
        return [None] * count
    if len(values) != count:
        raise ValueError(f"{where}: {len(values)} values for {count} x labels")
    return [None if v is None else _number(v, f"{where}[{i}]") for i, v in enumerate(values)]


def _data(value: Number) -> str:
    """A value for a data attribute, exactly as given: ints as ints, floats as their repr."""
    return str(value) if isinstance(value, int) else repr(value)


def _total(values: Iterable[Number]) -> Number:
    items = list(values)
    if all(isinstance(v, int) for v in items):
        return sum(int(v) for v in items)
    return math.fsum(items)


def _clean(text: object) -> str:
    """Text for the SVG without the characters XML cannot hold (escaping happens later)."""
    return _NOT_XML.sub("", str(text))


def _check_size(width: int, height: int) -> None:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a chart needs at least {MIN_WIDTH}×{MIN_HEIGHT}, not {width}×{height}")


# --- SVG writing --------------------------------------------------------------------------


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _el(name: str, content: str = "", /, **attrs: object) -> str:
    """One element. Keywords become attributes (``cls`` is class, ``_`` is ``-``) and their
    values are escaped here; ``content`` must be markup already."""
    parts = [name]
    for key, value in attrs.items():
        if value is None:
            continue
        text = _n(value) if isinstance(value, float) else str(escape(_clean(value)))
        parts.append(f'{"class" if key == "cls" else key.replace("_", "-")}="{text}"')
    head = " ".join(parts)
    return f"<{head}>{content}</{name}>" if content else f"<{head}/>"


def _text(text: object) -> str:
    return str(escape(_clean(text)))


def _tip(text: str) -> str:
    """A tooltip: the ``<title>`` child browsers show on hover."""
    return _el("title", _text(text))


def _label(text: str, x: float, y: float, cls: str, anchor: str = "middle", **attrs: object) -> str:
    """A text in the text colour: readable on the page's theme and standalone."""
    return _el(
        "text", _text(text), cls=cls, x=x, y=y, text_anchor=anchor, fill="currentColor", **attrs
    )


def _rule(
    cls: str,
    ends: tuple[float, float, float, float],
    opacity: str,
    content: str = "",
    **attrs: object,
) -> str:
    """A straight line from (x1, y1) to (x2, y2) in the text colour: gridlines, axes, markers."""
    x1, y1, x2, y2 = ends
    return _el(
        "line",
        content,
        cls=cls,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        stroke="currentColor",
        stroke_opacity=opacity,
        **attrs,
    )


def _width_of(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_CATEGORY_CHARS else text[: MAX_CATEGORY_CHARS - 1] + "…"


def _series_class(index: int) -> str:
    return f"series-{index % len(PALETTE)}"


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class _Chart:
    kind: str
    title: str
    width: int
    height: int
    chart_id: str | None

    def svg(self, desc: str, body: Sequence[str]) -> Markup:
        content = "".join(body)
        if self.chart_id:
            dom_id = "chart-" + _ID_UNSAFE.sub("-", self.chart_id)
        else:  # from the content, so the same chart always gets the same id
            text = f"{self.kind}\n{self.title}\n{desc}\n{content}"
            dom_id = "chart-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        head = _el("title", _text(self.title), id=f"{dom_id}-title")
        head += _el("desc", _text(desc), id=f"{dom_id}-desc")
        svg = _el(
            "svg",
            head + content,
            xmlns="http://www.w3.org/2000/svg",
            cls=f"chart chart-{self.kind}",
            viewBox=f"0 0 {self.width} {self.height}",
            width="100%",
            role="img",
            aria_labelledby=f"{dom_id}-title",
            aria_describedby=f"{dom_id}-desc",
            data_chart=self.chart_id,
            font_family="system-ui, sans-serif",
            font_size=FONT_SIZE,
        )
        return Markup(svg)  # noqa: S704 - every text in it went through escape()

    def empty(self) -> Markup:
        message = _el(
            "text",
            _text(EMPTY_MESSAGE),
            cls="empty",
            x=self.width / 2,
            y=self.height / 2,
            text_anchor="middle",
            dominant_baseline="middle",
            fill="currentColor",
        )
        return self.svg(f"{EMPTY_MESSAGE}.", [message])


# --- scales, axes and legends -------------------------------------------------------------


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


def visible_labels(labels: Sequence[str], room: float) -> list[int]:
    """Indices of the x labels to show so that none overlap in ``room`` pixels: at most
    ``MAX_X_LABELS``, evenly spread, always including the last (the most recent)."""
    if not labels:
        return []
    widest = max(_width_of(label) for label in labels) + LABEL_GAP
    fits = max(1, min(MAX_X_LABELS, int(room // widest)))
    every = math.ceil(len(labels) / fits)
    return [i for i in range(len(labels)) if (len(labels) - 1 - i) % every == 0]


def _x_label(label: str, x: float, y: float, width: int) -> str:
    half = _width_of(label) / 2
    x = min(max(x, half + 2), width - half - 2)  # the first and last stay inside the frame
    return _label(label, x, y, "x-label")


def _legend(
    entries: Sequence[tuple[str, str, str]], *, left: float, top: float, right: float
) -> tuple[str, float]:
    """The legend (entries are class, colour, name) and its height; items wrap at ``right``."""
    items, x, y = [], left, top
    for css_class, colour, name in entries:
        advance = 14 + _width_of(name) + 16
        if x > left and x + advance > right:
            x, y = left, y + 16
        opacity = BAND_OPACITY if css_class == "band" else None
        swatch = _el(
            "rect",
            cls=f"swatch {css_class}",
            x=x,
            y=y,
            width=10,
            height=10,
            fill=colour,
            fill_opacity=opacity,
        )
        label = _label(name, x + 14, y + 9, "legend-label", "start")
        items.append(_el("g", swatch + label, cls="legend-item"))
        x += advance
    return _el("g", "".join(items), cls="legend"), y + 22 - top


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels, with its value axis running up the y side."""

    left: float
    top: float
    right: float
    bottom: float
    scale: Scale

    def y(self, value: float) -> float:
        return self.scale.at(value, self.bottom, self.top)


def _value_frame(
    chart: _Chart,
    values: Sequence[float],
    fmt: Formatter,
    *,
    legend: Sequence[tuple[str, str, str]] = (),
    left_room: float = 0,
    right_room: float = 16,
    bottom_room: float = 24,
) -> tuple[_Frame, list[str], str, str]:
    """The frame for ``values`` with its gridlines and their labels, the zero axis (drawn last,
    over bars) and the legend when there is more than one entry."""
    scale = nice_scale(min(values), max(values))
    ticks = [_clean(fmt(tick)) for tick in scale.ticks]
    left = max(_width_of(t) for t in ticks) + 12 + left_room
    right, top = chart.width - right_room, 10.0
    key = ""
    if len(legend) > 1:
        key, legend_height = _legend(legend, left=left, top=top, right=right)
        top += legend_height
    frame = _Frame(left, top, right, chart.height - bottom_room, scale)
    grid = []
    for tick, label in zip(scale.ticks, ticks, strict=True):
        y = frame.y(tick)
        grid.append(_rule("grid", (left, y, right, y), ".15", data_tick=_plain(_decimal(tick))))
        grid.append(_label(label, left - 6, y + 4, "y-label", "end"))
    zero = frame.y(0.0)
    axis = _rule("axis", (left, zero, right, zero), ".5")
    return frame, grid, axis, key


# --- line chart ---------------------------------------------------------------------------


def _runs(present: Sequence[bool]) -> list[list[int]]:
    """Consecutive indices where ``present`` holds: the pieces of a broken line."""
    runs: list[list[int]] = []
    for i, here in enumerate(present):
        if here and runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        elif here:
            runs.append([i])
    return runs


def _band_values(band: Band | None, count: int) -> tuple[list[Number | None], ...]:
    if band is None:
        return [None] * count, [None] * count
    low = _values(band.low, count, f"band {band.name!r} low")
    high = _values(band.high, count, f"band {band.name!r} high")
    for i, (a, b) in enumerate(zip(low, high, strict=True)):
        if (a is None) != (b is None) or (a is not None and b is not None and a > b):
            raise ValueError(f"band {band.name!r}[{i}]: low {a!r} and high {b!r} disagree")
    return low, high


def line_chart(
    series: Sequence[Line],
    *,
    title: str,
    x_labels: Sequence[str],
    y_format: Formatter = fmt_compact,
    band: Band | None = None,
    markers: Sequence[tuple[int, str]] = (),
    width: int = 640,
    height: int = 240,
    chart_id: str | None = None,
) -> Markup:
    """Lines over ``x_labels``, each value a ``<circle data-series data-x data-value>``; an
    optional band behind them and dashed vertical ``markers`` at x indices."""
    _check_size(width, height)
    chart = _Chart("line", title, width, height, chart_id)
    labels = [_clean(label) for label in x_labels]
    lines = [(line, _values(line.values, len(labels), f"series {line.name!r}")) for line in series]
    low, high = _band_values(band, len(labels))
    for index, _ in markers:
        if not 0 <= index < len(labels):
            raise ValueError(f"marker at {index} is outside the {len(labels)} x labels")
    drawn = [
        v for _, values in (*lines, (None, low), (None, high)) for v in values if v is not None
    ]
    if not drawn:
        return chart.empty()

    legend = [(_series_class(i), _colour(i), line.name) for i, (line, _) in enumerate(lines)]
    legend += [("band", BAND_FILL, band.name)] if band is not None else []
    frame, body, axis, key = _value_frame(chart, drawn, y_format, legend=legend)

    def x_at(i: int) -> float:
        if len(labels) == 1:
            return (frame.left + frame.right) / 2
        return frame.left + (frame.right - frame.left) * i / (len(labels) - 1)

    if band is not None:
        body += _band(band, low, high, labels, x_at, frame, y_format)
    body.append(axis)
    body += _markers(markers, labels, x_at, frame)
    for number, (line, values) in enumerate(lines):
        body += _line(line, number, values, labels, x_at, frame, y_format, len(lines) > 1)
    for i in visible_labels(labels, frame.right - frame.left):
        body.append(_x_label(labels[i], x_at(i), height - 8.0, width))
    body.append(key)
    return chart.svg(_line_desc(lines, labels, y_format), body)


def _line(
    line: Line,
    number: int,
    values: Sequence[Number | None],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: _Frame,
    fmt: Formatter,
    named: bool,
) -> list[str]:
    """One series: a polyline per unbroken run (a lone value is only its point), then a circle
    per value with its tooltip."""
    css, colour, out = _series_class(number), _colour(number), []
    for run in _runs([v is not None for v in values]):
        if len(run) > 1:
            points = " ".join(f"{_n(x_at(i))},{_n(frame.y(values[i] or 0))}" for i in run)
            out.append(
                _el(
                    "polyline",
                    cls=f"line {css}",
                    points=points,
                    data_series=line.name,
                    fill="none",
                    stroke=colour,
                    stroke_width=2,
                    stroke_linejoin="round",
                )
            )
    for i, value in enumerate(values):
        if value is None:
            continue
        tip = f"{labels[i]}: {fmt(value)}" + (f" {line.unit}" if line.unit else "")
        out.append(
            _el(
                "circle",
                _tip(f"{line.name}, {tip}" if named else tip),
                cls=f"point {css}",
                cx=x_at(i),
                cy=frame.y(value),
                r=3,
                fill=colour,
                data_series=line.name,
                data_x=labels[i],
                data_value=_data(value),
            )
        )
    return out


def _band(
    band: Band,
    low: Sequence[Number | None],
    high: Sequence[Number | None],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: _Frame,
    fmt: Formatter,
) -> list[str]:
    """A polygon per unbroken run and, per x, an invisible ``band-range`` line carrying
    ``data-low`` and ``data-high`` with a tooltip."""
    out = []
    for run in _runs([v is not None for v in low]):
        if len(run) > 1:
            edge = [(x_at(i), frame.y(high[i] or 0)) for i in run]
            edge += [(x_at(i), frame.y(low[i] or 0)) for i in reversed(run)]
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in edge)
            out.append(
                _el(
                    "polygon",
                    cls="band",
                    points=points,
                    data_series=band.name,
                    fill=BAND_FILL,
                    fill_opacity=BAND_OPACITY,
                )
            )
    for i, (a, b) in enumerate(zip(low, high, strict=True)):
        if a is not None and b is not None:
            tip = _tip(f"{band.name}, {labels[i]}: {fmt(a)} – {fmt(b)}")
            ends = (x_at(i), frame.y(a), x_at(i), frame.y(b))
            out.append(
                _rule(
                    "band-range",
                    ends,
                    "0",
                    tip,
                    data_series=band.name,
                    data_x=labels[i],
                    data_low=_data(a),
                    data_high=_data(b),
                )
            )
    return out


def _markers(
    markers: Sequence[tuple[int, str]],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: _Frame,
) -> list[str]:
    out = []
    for index, text in markers:
        x = x_at(index)
        ends = (x, frame.top, x, frame.bottom)
        out.append(
            _rule(
                "marker",
                ends,
                ".6",
                _tip(text),
                stroke_dasharray="4 3",
                data_x=labels[index],
                data_label=text,
            )
        )
        if x > frame.left + (frame.right - frame.left) * 0.75:  # near the end: label on the left
            out.append(_label(text, x - 4, frame.top + 10, "marker-label", "end"))
        else:
            out.append(_label(text, x + 4, frame.top + 10, "marker-label", "start"))
    return out


def _line_desc(
    lines: Sequence[tuple[Line, list[Number | None]]], labels: Sequence[str], fmt: Formatter
) -> str:
    parts = []
    for line, values in lines:
        known = [(v, labels[i]) for i, v in enumerate(values) if v is not None]
        if known:
            peak, peak_at = max(known, key=lambda item: item[0])
            parts.append(
                f"{line.name} peaks at {fmt(peak)} on {peak_at}, ends at {fmt(known[-1][0])}"
            )
        else:
            parts.append(f"{line.name} has no data")
    return f"{len(labels)} points from {labels[0]} to {labels[-1]}: " + "; ".join(parts) + "."


# --- bar charts ---------------------------------------------------------------------------


def bar_chart(
    bars: Sequence[tuple[str, Number]],
    *,
    title: str,
    y_format: Formatter = fmt_compact,
    horizontal: bool = False,
    width: int = 640,
    height: int | None = None,
    chart_id: str | None = None,
) -> Markup:
    """A ``<rect data-label data-value>`` per (label, value). Horizontal bars (age bands,
    countries, traffic sources) print their value at the bar's end, and the chart grows with
    the number of bars unless ``height`` is given."""
    items = [(_clean(label), _number(value, f"bar {label!r}")) for label, value in bars]
    if height is None:
        height = max(MIN_HEIGHT, 16 + 28 * len(items)) if horizontal else 240
    _check_size(width, height)
    chart = _Chart("bar", title, width, height, chart_id)
    if not items:
        return chart.empty()
    body = (
        _horizontal_bars(chart, items, y_format)
        if horizontal
        else _vertical_bars(chart, items, y_format)
    )
    largest = max(items, key=lambda item: item[1])
    desc = f"{len(items)} bars, largest {largest[0]} at {y_format(largest[1])}, "
    desc += f"total {y_format(_total(v for _, v in items))}."
    return chart.svg(desc, body)


def _bar(label: str, value: Number, fmt: Formatter, x: float, y: float, w: float, h: float) -> str:
    return _el(
        "rect",
        _tip(f"{label}: {fmt(value)}"),
        cls="bar series-0",
        x=x,
        y=y,
        width=w,
        height=h,
        fill=PALETTE[0],
        data_label=label,
        data_value=_data(value),
    )


def _vertical_bars(chart: _Chart, items: Sequence[tuple[str, Number]], fmt: Formatter) -> list[str]:
    frame, body, axis, _ = _value_frame(chart, [v for _, v in items], fmt)
    slot = (frame.right - frame.left) / len(items)
    thickness = min(slot * 0.7, 48.0)
    zero = frame.y(0.0)
    for i, (label, value) in enumerate(items):
        y = frame.y(value)
        x = frame.left + slot * (i + 0.5) - thickness / 2
        body.append(_bar(label, value, fmt, x, min(y, zero), thickness, abs(zero - y)))
    body.append(axis)
    shown = [_shorten(label) for label, _ in items]
    for i in visible_labels(shown, frame.right - frame.left):
        x = frame.left + slot * (i + 0.5)
        body.append(_x_label(shown[i], x, chart.height - 8.0, chart.width))
    return body


def _horizontal_bars(
    chart: _Chart, items: Sequence[tuple[str, Number]], fmt: Formatter
) -> list[str]:
    values = [v for _, v in items]
    low, high = min(0, *values), max(0, *values)
    scale = Scale(low, high if high > low else low + 1, 1.0, ())  # bars only: no gridlines
    names = [_shorten(label) for label, _ in items]
    texts = [_clean(fmt(v)) for v in values]
    left = max(_width_of(name) for name in names) + 12
    right = chart.width - max(_width_of(text) for text in texts) - 12
    row = (chart.height - 16) / len(items)
    thickness = min(row * 0.65, 20.0)
    zero = scale.at(0.0, left, right)
    body = []
    for i, ((label, value), name, text) in enumerate(zip(items, names, texts, strict=True)):
        middle = 8 + row * (i + 0.5)
        x = scale.at(value, left, right)
        body.append(
            _bar(label, value, fmt, min(x, zero), middle - thickness / 2, abs(x - zero), thickness)
        )
        body.append(_label(name, left - 6, middle + 4, "y-label", "end"))
        if value >= 0:  # the value sits at the bar's end, outside it
            body.append(_label(text, x + 4, middle + 4, "value-label", "start"))
        else:
            body.append(_label(text, x - 4, middle + 4, "value-label", "end"))
    body.append(_rule("axis", (zero, 8.0, zero, chart.height - 8.0), ".5"))
    return body


def stacked_bar_chart(
    categories: Sequence[str],
    stacks: Sequence[Line],
    *,
    title: str,
    y_format: Formatter = fmt_compact,
    width: int = 640,
    height: int = 240,
    chart_id: str | None = None,
) -> Markup:
    """A column per category, stacked bottom up in the order of ``stacks``: each segment a
    ``<rect data-x data-series data-value>``, each column a ``<g data-x data-total>``. None
    leaves a segment out; negative values cannot be stacked (ValueError)."""
    _check_size(width, height)
    chart = _Chart("stacked-bar", title, width, height, chart_id)
    labels = [_clean(category) for category in categories]
    layers = [(line, _values(line.values, len(labels), f"stack {line.name!r}")) for line in stacks]
    for line, values in layers:
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"stack {line.name!r}: negative values cannot be stacked")
    if not any(v is not None for _, values in layers for v in values):
        return chart.empty()

    columns = [[values[i] for _, values in layers] for i in range(len(labels))]
    totals = [_total(v for v in column if v is not None) for column in columns]
    legend = [(_series_class(i), _colour(i), line.name) for i, (line, _) in enumerate(layers)]
    frame, body, axis, key = _value_frame(chart, totals, y_format, legend=legend)
    slot = (frame.right - frame.left) / len(labels)
    thickness = min(slot * 0.7, 48.0)
    for i, (label, column) in enumerate(zip(labels, columns, strict=True)):
        x, base, segments = frame.left + slot * (i + 0.5) - thickness / 2, 0.0, []
        for number, ((line, _), value) in enumerate(zip(layers, column, strict=True)):
            if value is None:
                continue
            y = frame.y(base + value)
            segments.append(
                _el(
                    "rect",
                    _tip(f"{label}, {line.name}: {y_format(value)}"),
                    cls=f"segment {_series_class(number)}",
                    x=x,
                    y=y,
                    width=thickness,
                    height=frame.y(base) - y,
                    fill=_colour(number),
                    data_x=label,
                    data_series=line.name,
                    data_value=_data(value),
                )
            )
            base += value
        total = _data(totals[i])
        body.append(_el("g", "".join(segments), cls="stack", data_x=label, data_total=total))
    body.append(axis)
    shown = [_shorten(label) for label in labels]
    for i in visible_labels(shown, frame.right - frame.left):
        x = frame.left + slot * (i + 0.5)
        body.append(_x_label(shown[i], x, height - 8.0, width))
    body.append(key)
    peak = max(range(len(labels)), key=lambda i: totals[i])
    desc = f"{len(labels)} columns of {len(layers)} parts from {labels[0]} to {labels[-1]}, "
    desc += f"largest {labels[peak]} at {y_format(totals[peak])}."
    return chart.svg(desc, body)


# --- scatter ------------------------------------------------------------------------------


def scatter_chart(
    points: Sequence[Point],
    *,
    title: str,
    x_title: str,
    y_title: str,
    x_format: Formatter = fmt_compact,
    y_format: Formatter = fmt_compact,
    width: int = 640,
    height: int = 280,
    chart_id: str | None = None,
) -> Markup:
    """A ``<circle data-x data-y data-label>`` per point, on nice axes for both values."""
    _check_size(width, height)
    chart = _Chart("scatter", title, width, height, chart_id)
    checked = [
        (
            _number(p.x, f"point {p.label!r} x"),
            _number(p.y, f"point {p.label!r} y"),
            _clean(p.label),
        )
        for p in points
    ]
    if not checked:
        return chart.empty()
    xs, ys = [x for x, _, _ in checked], [y for _, y, _ in checked]
    x_scale = nice_scale(min(xs), max(xs))
    x_ticks = [_clean(x_format(tick)) for tick in x_scale.ticks]
    frame, body, axis, _ = _value_frame(
        chart,
        ys,
        y_format,
        left_room=18,  # the rotated y title
        right_room=max(_width_of(x_ticks[-1]) / 2, 16),  # the last x label, centred on the edge
        bottom_room=42,  # the x labels and the x title
    )
    for tick, text in zip(x_scale.ticks, x_ticks, strict=True):
        x = x_scale.at(tick, frame.left, frame.right)
        tick_data = _plain(_decimal(tick))
        body.append(_rule("grid", (x, frame.top, x, frame.bottom), ".15", data_tick=tick_data))
        body.append(_label(text, x, frame.bottom + 16, "x-label"))
    body.append(axis)
    middle = (frame.top + frame.bottom) / 2
    body.append(_label(x_title, (frame.left + frame.right) / 2, height - 6.0, "axis-title"))
    turn = f"rotate(-90 12 {_n(middle)})"
    body.append(_label(y_title, 12.0, middle, "axis-title", transform=turn))
    for x, y, label in checked:
        body.append(
            _el(
                "circle",
                _tip(f"{label} — {x_title}: {x_format(x)}, {y_title}: {y_format(y)}"),
                cls="point series-0",
                cx=x_scale.at(x, frame.left, frame.right),
                cy=frame.y(y),
                r=4,
                fill=PALETTE[0],
                fill_opacity=".75",
                data_x=_data(x),
                data_y=_data(y),
                data_label=label,
            )
        )
    desc = f"{len(checked)} points, {y_title} from {y_format(min(ys))} to {y_format(max(ys))} "
    desc += f"as {x_title} goes from {x_format(min(xs))} to {x_format(max(xs))}."
    return chart.svg(desc, body)
