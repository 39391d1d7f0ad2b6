"""The parts every chart's SVG is made of: the checks on the numbers a chart is given; elements
whose attributes are escaped as they are written, texts, tooltips and rules in the text colour,
the series' colours, and the root with its title and description (or the empty message); the
value axis with its gridlines, the x labels and the legend. ``charts.py`` draws each kind of
chart with them.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from playback.analytics.chart_scales import (
    Formatter,
    Number,
    Scale,
    nice_scale,
    plain_decimal,
    width_of,
)

EMPTY_MESSAGE = "No data for this period"
PALETTE = ("#fe2c55", "#25f4ee", "#f5a623", "#3ddc84", "#a78bfa", "#f472b6")
BAND_FILL, BAND_OPACITY = "#8a8b91", ".3"
FONT_SIZE = 11
MIN_WIDTH, MIN_HEIGHT = 160, 100
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# --- checking the input -------------------------------------------------------------------


def checked_number(value: object, where: str) -> Number:
    """The value as a plain int or float; NaN and infinities are the caller's bug."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {value!r} is not a number")
    result: Number = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(result):
        raise ValueError(f"{where}: {value!r} cannot be drawn")
    return result


def checked_values(values: Sequence[object], count: int, where: str) -> list[Number | None]:
    if len(values) == 0:  # a series without any data draws nothing
        return [None] * count
    if len(values) != count:
        raise ValueError(f"{where}: {len(values)} values for {count} x labels")
    return [None if v is None else checked_number(v, f"{where}[{i}]") for i, v in enumerate(values)]


def data_text(value: Number) -> str:
    """A value for a data attribute, exactly as given: ints as ints, floats as their repr."""
    return str(value) if isinstance(value, int) else repr(value)


def exact_total(values: Iterable[Number]) -> Number:
    items = list(values)
    if all(isinstance(v, int) for v in items):
        return sum(int(v) for v in items)
    return math.fsum(items)


def clean_text(text: object) -> str:
    """Text for the SVG without the characters XML cannot hold (escaping happens later)."""
    return _NOT_XML.sub("", str(text))


def check_size(width: int, height: int) -> None:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a chart needs at least {MIN_WIDTH}×{MIN_HEIGHT}, not {width}×{height}")


# --- SVG writing --------------------------------------------------------------------------


def px(value: float) -> str:
    """A coordinate as written in the SVG: at most two decimals, never "-0"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def element(name: str, content: str = "", /, **attrs: object) -> str:
    """One element. Keywords become attributes (``cls`` is class, ``_`` is ``-``) and their
    values are escaped here; ``content`` must be markup already."""
    parts = [name]
    for key, value in attrs.items():
        if value is None:
            continue
        text = px(value) if isinstance(value, float) else str(escape(clean_text(value)))
        parts.append(f'{"class" if key == "cls" else key.replace("_", "-")}="{text}"')
    head = " ".join(parts)
    return f"<{head}>{content}</{name}>" if content else f"<{head}/>"


def escaped(text: object) -> str:
    return str(escape(clean_text(text)))


def tooltip(text: str) -> str:
    """A tooltip: the ``<title>`` child browsers show on hover."""
    return element("title", escaped(text))


def text_label(
    text: str, x: float, y: float, cls: str, anchor: str = "middle", **attrs: object
) -> str:
    """A text in the text colour: readable on the page's theme and standalone."""
    return element(
        "text", escaped(text), cls=cls, x=x, y=y, text_anchor=anchor, fill="currentColor", **attrs
    )


def rule(
    cls: str,
    ends: tuple[float, float, float, float],
    opacity: str,
    content: str = "",
    **attrs: object,
) -> str:
    """A straight line from (x1, y1) to (x2, y2) in the text colour: gridlines, axes, markers."""
    x1, y1, x2, y2 = ends
    return element(
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


def series_class(index: int) -> str:
    return f"series-{index % len(PALETTE)}"


def series_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Chart:
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
        head = element("title", escaped(self.title), id=f"{dom_id}-title")
        head += element("desc", escaped(desc), id=f"{dom_id}-desc")
        svg = element(
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
        message = element(
            "text",
            escaped(EMPTY_MESSAGE),
            cls="empty",
            x=self.width / 2,
            y=self.height / 2,
            text_anchor="middle",
            dominant_baseline="middle",
            fill="currentColor",
        )
        return self.svg(f"{EMPTY_MESSAGE}.", [message])


# --- axes and legends --------------------------------------------------------------------


def x_label(label: str, x: float, y: float, width: int) -> str:
    half = width_of(label) / 2
    x = min(max(x, half + 2), width - half - 2)  # the first and last stay inside the frame
    return text_label(label, x, y, "x-label")


def _legend(
    entries: Sequence[tuple[str, str, str]], *, left: float, top: float, right: float
) -> tuple[str, float]:
    """The legend (entries are class, colour, name) and its height; items wrap at ``right``."""
    items, x, y = [], left, top
    for css_class, colour, name in entries:
        advance = 14 + width_of(name) + 16
        if x > left and x + advance > right:
            x, y = left, y + 16
        opacity = BAND_OPACITY if css_class == "band" else None
        swatch = element(
            "rect",
            cls=f"swatch {css_class}",
            x=x,
            y=y,
            width=10,
            height=10,
            fill=colour,
            fill_opacity=opacity,
        )
        label = text_label(name, x + 14, y + 9, "legend-label", "start")
        items.append(element("g", swatch + label, cls="legend-item"))
        x += advance
    return element("g", "".join(items), cls="legend"), y + 22 - top


@dataclass(frozen=True)
class Frame:
    """The plot area in pixels, with its value axis running up the y side."""

    left: float
    top: float
    right: float
    bottom: float
    scale: Scale

    def y(self, value: float) -> float:
        return self.scale.at(value, self.bottom, self.top)


def value_frame(
    chart: Chart,
    values: Sequence[float],
    fmt: Formatter,
    *,
    legend: Sequence[tuple[str, str, str]] = (),
    left_room: float = 0,
    right_room: float = 16,
    bottom_room: float = 24,
) -> tuple[Frame, list[str], str, str]:
    """The frame for ``values`` with its gridlines and their labels, the zero axis (drawn last,
    over bars) and the legend when there is more than one entry."""
    scale = nice_scale(min(values), max(values))
    ticks = [clean_text(fmt(tick)) for tick in scale.ticks]
    left = max(width_of(t) for t in ticks) + 12 + left_room
    right, top = chart.width - right_room, 10.0
    key = ""
    if len(legend) > 1:
        key, legend_height = _legend(legend, left=left, top=top, right=right)
        top += legend_height
    frame = Frame(left, top, right, chart.height - bottom_room, scale)
    grid = []
    for tick, label in zip(scale.ticks, ticks, strict=True):
        y = frame.y(tick)
        grid.append(rule("grid", (left, y, right, y), ".15", data_tick=plain_decimal(tick)))
        grid.append(text_label(label, left - 6, y + 4, "y-label", "end"))
    zero = frame.y(0.0)
    axis = rule("axis", (left, zero, right, zero), ".5")
    return frame, grid, axis, key
