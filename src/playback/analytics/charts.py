"""Charts drawn by the server as inline SVG: lines (with a forecast band and markers), bars,
stacked bars and scatter plots, for the creator studio, trends and platform insights pages.

Every number a chart draws is also written on its element, exactly as given, as a data attribute
(``data-value``, ``data-x``…), so browser tests can check a page against the JSON API. Colours
come from CSS classes (``series-0``…``series-5``, ``band``, ``grid``, ``axis``) with inline
defaults so an SVG still reads on its own. Output is deterministic, so charts can be cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from playback.analytics.chart_scales import (
    Formatter,
    Number,
    Scale,
    fmt_compact,
    fmt_duration_ms,  # noqa: F401 - pages pass charts.fmt_* as a chart's y_format
    fmt_int,  # noqa: F401 - as above
    fmt_percent,  # noqa: F401 - as above
    nice_scale,
    plain_decimal,
    visible_labels,
    width_of,
)
from playback.analytics.chart_svg import (
    BAND_FILL,
    BAND_OPACITY,
    MIN_HEIGHT,
    PALETTE,
    Chart,
    Frame,
    check_size,
    checked_number,
    checked_values,
    clean_text,
    data_text,
    element,
    exact_total,
    px,
    rule,
    series_class,
    series_colour,
    text_label,
    tooltip,
    value_frame,
    x_label,
)

MAX_CATEGORY_CHARS = 24  # longer labels are cut on screen; data-label keeps the whole text


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
    low = checked_values(band.low, count, f"band {band.name!r} low")
    high = checked_values(band.high, count, f"band {band.name!r} high")
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
    check_size(width, height)
    chart = Chart("line", title, width, height, chart_id)
    labels = [clean_text(label) for label in x_labels]
    lines = [
        (line, checked_values(line.values, len(labels), f"series {line.name!r}")) for line in series
    ]
    low, high = _band_values(band, len(labels))
    for index, _ in markers:
        if not 0 <= index < len(labels):
            raise ValueError(f"marker at {index} is outside the {len(labels)} x labels")
    drawn = [
        v for _, values in (*lines, (None, low), (None, high)) for v in values if v is not None
    ]
    if not drawn:
        return chart.empty()

    legend = [(series_class(i), series_colour(i), line.name) for i, (line, _) in enumerate(lines)]
    legend += [("band", BAND_FILL, band.name)] if band is not None else []
    frame, body, axis, key = value_frame(chart, drawn, y_format, legend=legend)

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
        body.append(x_label(labels[i], x_at(i), height - 8.0, width))
    body.append(key)
    return chart.svg(_line_desc(lines, labels, y_format), body)


def _line(
    line: Line,
    number: int,
    values: Sequence[Number | None],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: Frame,
    fmt: Formatter,
    named: bool,
) -> list[str]:
    """One series: a polyline per unbroken run (a lone value is only its point), then a circle
    per value with its tooltip."""
    css, colour, out = series_class(number), series_colour(number), []
    for run in _runs([v is not None for v in values]):
        if len(run) > 1:
            points = " ".join(f"{px(x_at(i))},{px(frame.y(values[i] or 0))}" for i in run)
            out.append(
                element(
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
            element(
                "circle",
                tooltip(f"{line.name}, {tip}" if named else tip),
                cls=f"point {css}",
                cx=x_at(i),
                cy=frame.y(value),
                r=3,
                fill=colour,
                data_series=line.name,
                data_x=labels[i],
                data_value=data_text(value),
            )
        )
    return out


def _band(
    band: Band,
    low: Sequence[Number | None],
    high: Sequence[Number | None],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: Frame,
    fmt: Formatter,
) -> list[str]:
    """A polygon per unbroken run and, per x, an invisible ``band-range`` line carrying
    ``data-low`` and ``data-high`` with a tooltip."""
    out = []
    for run in _runs([v is not None for v in low]):
        if len(run) > 1:
            edge = [(x_at(i), frame.y(high[i] or 0)) for i in run]
            edge += [(x_at(i), frame.y(low[i] or 0)) for i in reversed(run)]
            points = " ".join(f"{px(x)},{px(y)}" for x, y in edge)
            out.append(
                element(
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
            tip = tooltip(f"{band.name}, {labels[i]}: {fmt(a)} – {fmt(b)}")
            ends = (x_at(i), frame.y(a), x_at(i), frame.y(b))
            out.append(
                rule(
                    "band-range",
                    ends,
                    "0",
                    tip,
                    data_series=band.name,
                    data_x=labels[i],
                    data_low=data_text(a),
                    data_high=data_text(b),
                )
            )
    return out


def _markers(
    markers: Sequence[tuple[int, str]],
    labels: Sequence[str],
    x_at: Callable[[int], float],
    frame: Frame,
) -> list[str]:
    out = []
    for index, text in markers:
        x = x_at(index)
        ends = (x, frame.top, x, frame.bottom)
        out.append(
            rule(
                "marker",
                ends,
                ".6",
                tooltip(text),
                stroke_dasharray="4 3",
                data_x=labels[index],
                data_label=text,
            )
        )
        if x > frame.left + (frame.right - frame.left) * 0.75:  # near the end: label on the left
            out.append(text_label(text, x - 4, frame.top + 10, "marker-label", "end"))
        else:
            out.append(text_label(text, x + 4, frame.top + 10, "marker-label", "start"))
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


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_CATEGORY_CHARS else text[: MAX_CATEGORY_CHARS - 1] + "…"


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
    items = [(clean_text(label), checked_number(value, f"bar {label!r}")) for label, value in bars]
    if height is None:
        height = max(MIN_HEIGHT, 16 + 28 * len(items)) if horizontal else 240
    check_size(width, height)
    chart = Chart("bar", title, width, height, chart_id)
    if not items:
        return chart.empty()
    body = (
        _horizontal_bars(chart, items, y_format)
        if horizontal
        else _vertical_bars(chart, items, y_format)
    )
    largest = max(items, key=lambda item: item[1])
    desc = f"{len(items)} bars, largest {largest[0]} at {y_format(largest[1])}, "
    desc += f"total {y_format(exact_total(v for _, v in items))}."
    return chart.svg(desc, body)


def _bar(label: str, value: Number, fmt: Formatter, x: float, y: float, w: float, h: float) -> str:
    return element(
        "rect",
        tooltip(f"{label}: {fmt(value)}"),
        cls="bar series-0",
        x=x,
        y=y,
        width=w,
        height=h,
        fill=PALETTE[0],
        data_label=label,
        data_value=data_text(value),
    )


def _vertical_bars(chart: Chart, items: Sequence[tuple[str, Number]], fmt: Formatter) -> list[str]:
    frame, body, axis, _ = value_frame(chart, [v for _, v in items], fmt)
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
        body.append(x_label(shown[i], x, chart.height - 8.0, chart.width))
    return body


def _horizontal_bars(
    chart: Chart, items: Sequence[tuple[str, Number]], fmt: Formatter
) -> list[str]:
    values = [v for _, v in items]
    low, high = min(0, *values), max(0, *values)
    scale = Scale(low, high if high > low else low + 1, 1.0, ())  # bars only: no gridlines
    names = [_shorten(label) for label, _ in items]
    texts = [clean_text(fmt(v)) for v in values]
    left = max(width_of(name) for name in names) + 12
    right = chart.width - max(width_of(text) for text in texts) - 12
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
        body.append(text_label(name, left - 6, middle + 4, "y-label", "end"))
        if value >= 0:  # the value sits at the bar's end, outside it
            body.append(text_label(text, x + 4, middle + 4, "value-label", "start"))
        else:
            body.append(text_label(text, x - 4, middle + 4, "value-label", "end"))
    body.append(rule("axis", (zero, 8.0, zero, chart.height - 8.0), ".5"))
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
    check_size(width, height)
    chart = Chart("stacked-bar", title, width, height, chart_id)
    labels = [clean_text(category) for category in categories]
    layers = [
        (line, checked_values(line.values, len(labels), f"stack {line.name!r}")) for line in stacks
    ]
    for line, values in layers:
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"stack {line.name!r}: negative values cannot be stacked")
    if not any(v is not None for _, values in layers for v in values):
        return chart.empty()

    columns = [[values[i] for _, values in layers] for i in range(len(labels))]
    totals = [exact_total(v for v in column if v is not None) for column in columns]
    legend = [(series_class(i), series_colour(i), line.name) for i, (line, _) in enumerate(layers)]
    frame, body, axis, key = value_frame(chart, totals, y_format, legend=legend)
    slot = (frame.right - frame.left) / len(labels)
    thickness = min(slot * 0.7, 48.0)
    for i, (label, column) in enumerate(zip(labels, columns, strict=True)):
        x, base, segments = frame.left + slot * (i + 0.5) - thickness / 2, 0.0, []
        for number, ((line, _), value) in enumerate(zip(layers, column, strict=True)):
            if value is None:
                continue
            y = frame.y(base + value)
            segments.append(
                element(
                    "rect",
                    tooltip(f"{label}, {line.name}: {y_format(value)}"),
                    cls=f"segment {series_class(number)}",
                    x=x,
                    y=y,
                    width=thickness,
                    height=frame.y(base) - y,
                    fill=series_colour(number),
                    data_x=label,
                    data_series=line.name,
                    data_value=data_text(value),
                )
            )
            base += value
        total = data_text(totals[i])
        body.append(element("g", "".join(segments), cls="stack", data_x=label, data_total=total))
    body.append(axis)
    shown = [_shorten(label) for label in labels]
    for i in visible_labels(shown, frame.right - frame.left):
        x = frame.left + slot * (i + 0.5)
        body.append(x_label(shown[i], x, height - 8.0, width))
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
    check_size(width, height)
    chart = Chart("scatter", title, width, height, chart_id)
    checked = [
        (
            checked_number(p.x, f"point {p.label!r} x"),
            checked_number(p.y, f"point {p.label!r} y"),
            clean_text(p.label),
        )
        for p in points
    ]
    if not checked:
        return chart.empty()
    xs, ys = [x for x, _, _ in checked], [y for _, y, _ in checked]
    x_scale = nice_scale(min(xs), max(xs))
    x_ticks = [clean_text(x_format(tick)) for tick in x_scale.ticks]
    frame, body, axis, _ = value_frame(
        chart,
        ys,
        y_format,
        left_room=18,  # the rotated y title
        right_room=max(width_of(x_ticks[-1]) / 2, 16),  # the last x label, centred on the edge
        bottom_room=42,  # the x labels and the x title
    )
    for tick, text in zip(x_scale.ticks, x_ticks, strict=True):
        x = x_scale.at(tick, frame.left, frame.right)
        tick_data = plain_decimal(tick)
        body.append(rule("grid", (x, frame.top, x, frame.bottom), ".15", data_tick=tick_data))
        body.append(text_label(text, x, frame.bottom + 16, "x-label"))
    body.append(axis)
    middle = (frame.top + frame.bottom) / 2
    body.append(text_label(x_title, (frame.left + frame.right) / 2, height - 6.0, "axis-title"))
    turn = f"rotate(-90 12 {px(middle)})"
    body.append(text_label(y_title, 12.0, middle, "axis-title", transform=turn))
    for x, y, label in checked:
        body.append(
            element(
                "circle",
                tooltip(f"{label} — {x_title}: {x_format(x)}, {y_title}: {y_format(y)}"),
                cls="point series-0",
                cx=x_scale.at(x, frame.left, frame.right),
                cy=frame.y(y),
                r=4,
                fill=PALETTE[0],
                fill_opacity=".75",
                data_x=data_text(x),
                data_y=data_text(y),
                data_label=label,
            )
        )
    desc = f"{len(checked)} points, {y_title} from {y_format(min(ys))} to {y_format(max(ys))} "
    desc += f"as {x_title} goes from {x_format(min(xs))} to {x_format(max(xs))}."
    return chart.svg(desc, body)
