"""Server-drawn SVG charts: well-formed XML that carries exactly the numbers it was given, placed
where they belong, escaped, and the same string every time."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from decimal import Decimal

import defusedxml.ElementTree as SafeET
import pytest
from jinja2 import Environment
from markupsafe import Markup

from playback.analytics.chart_scales import (
    MAX_X_LABELS,
    fmt_compact,
    fmt_duration_ms,
    fmt_int,
    fmt_percent,
)
from playback.analytics.chart_svg import EMPTY_MESSAGE
from playback.analytics.charts import (
    Band,
    Line,
    Point,
    bar_chart,
    line_chart,
    scatter_chart,
    stacked_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [f"2026-11-{day:02d}" for day in range(1, 8)]


def parse(markup: Markup) -> ET.Element:
    """ElementTree's own parser (through defusedxml, which also refuses any DTD): a chart must
    be well-formed XML on its own."""
    assert isinstance(markup, Markup)
    return SafeET.fromstring(str(markup), forbid_dtd=True)


def find(root: ET.Element, tag: str, css_class: str | None = None) -> list[ET.Element]:
    return [
        element
        for element in root.iter(SVG + tag)
        if css_class is None or css_class in element.get("class", "").split()
    ]


def number(element: ET.Element, name: str) -> float:
    return float(element.get(name, "nan"))


def ticks(root: ET.Element) -> list[float]:
    """The y axis' gridlines, bottom to top (the line chart and bars draw them first)."""
    return [float(line.get("data-tick", "")) for line in find(root, "line", "grid")]


def is_nice(step: float) -> bool:
    exponent = math.floor(math.log10(step))
    mantissa = Decimal(repr(step)).scaleb(-exponent).normalize()
    return mantissa in {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}


def points_of(polyline: ET.Element) -> list[tuple[float, float]]:
    pairs = (pair.split(",") for pair in polyline.get("points", "").split())
    return [(float(x), float(y)) for x, y in pairs]


# --- line chart ---------------------------------------------------------------------------


def test_every_value_appears_once_with_its_x_label_and_series() -> None:
    views = [120, 340, None, 1234, 0, 77, 910]
    likes = [1.5, 0.1 + 0.2, 3.0, None, 12.25, 7.0, 1e-05]
    root = parse(
        line_chart([Line("Views", views), Line("Likes", likes)], title="Week", x_labels=DAYS)
    )

    drawn = [
        (c.get("data-series"), c.get("data-x"), c.get("data-value")) for c in find(root, "circle")
    ]
    expected = [("Views", x, str(v)) for x, v in zip(DAYS, views, strict=True) if v is not None]
    expected += [("Likes", x, repr(v)) for x, v in zip(DAYS, likes, strict=True) if v is not None]
    assert sorted(drawn) == sorted(expected)
    assert len(drawn) == len(set(drawn))
    # Exactly as given: the float sum keeps its last digit, ints stay ints, 3.0 stays a float.
    values = {value for _, _, value in drawn}
    assert {"0.30000000000000004", "1234", "0", "3.0", "1e-05"} <= values


def test_points_run_left_to_right_and_higher_values_sit_higher() -> None:
    values = [5, 40, 12, 40, 0, 33, 7]
    root = parse(line_chart([Line("Views", values)], title="Views", x_labels=DAYS))

    circles = find(root, "circle")
    assert [c.get("data-x") for c in circles] == DAYS
    xs = [number(c, "cx") for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for a, va in zip(circles, values, strict=True):
        for b, vb in zip(circles, values, strict=True):
            if va > vb:
                assert number(a, "cy") < number(b, "cy")
            if va == vb:
                assert number(a, "cy") == number(b, "cy")
    (polyline,) = find(root, "polyline")
    assert points_of(polyline) == [(number(c, "cx"), number(c, "cy")) for c in circles]


@pytest.mark.parametrize("largest", [1, 7, 10, 1234, 0.07, 999_999, 1_100_000_000, 2.5e-06])
def test_the_y_axis_runs_from_zero_to_a_nice_maximum(largest: float) -> None:
    values = [largest * share for share in (0.1, 0.5, 1, 0.3, 0.9, 0.2, 0.6)]
    root = parse(line_chart([Line("Views", values)], title="Views", x_labels=DAYS))

    axis = ticks(root)
    assert 4 <= len(axis) <= 6
    assert axis[0] == 0
    assert axis[-1] >= largest
    steps = {round(b - a, 12) for a, b in itertools.pairwise(axis)}
    assert len({f"{step:.6g}" for step in steps}) == 1
    assert is_nice(axis[1] - axis[0])
    # Nice but not wasteful: the top tick is less than two steps above the largest value.
    assert axis[-1] - largest < 2 * (axis[1] - axis[0])
    y_labels = [text.text for text in find(root, "text", "y-label")]
    assert y_labels[0] == "0"
    assert y_labels[-1] == fmt_compact(axis[-1])


def test_negative_values_put_the_axis_below_zero() -> None:
    values = [-30, 10, 45, -2, 0, 8, 19]
    root = parse(line_chart([Line("Net followers", values)], title="Net", x_labels=DAYS))

    axis = ticks(root)
    assert axis[0] <= -30
    assert axis[-1] >= 45
    assert 0 in axis
    assert 4 <= len(axis) <= 6
    (zero_line,) = find(root, "line", "axis")
    zero_circle = next(c for c in find(root, "circle") if c.get("data-value") == "0")
    assert number(zero_line, "y1") == number(zero_circle, "cy")


def test_a_gap_breaks_the_line_in_two() -> None:
    values = [4, 8, None, 15, 16, 23, 42]
    root = parse(line_chart([Line("Views", values)], title="Views", x_labels=DAYS))

    lines = find(root, "polyline")
    assert [len(points_of(line)) for line in lines] == [2, 4]
    assert len(find(root, "circle")) == 6
    assert "2026-11-03" not in {c.get("data-x") for c in find(root, "circle")}


def test_a_lone_value_between_gaps_is_a_point_without_a_line() -> None:
    values = [None, None, 9, None, 5, 6, None]
    root = parse(line_chart([Line("Views", values)], title="Views", x_labels=DAYS))

    assert [len(points_of(line)) for line in find(root, "polyline")] == [2]
    assert [c.get("data-value") for c in find(root, "circle")] == ["9", "5", "6"]


def test_the_forecast_band_is_a_polygon_behind_the_line_with_its_bounds() -> None:
    actual = [100, 120, 140, 150, None, None, None]
    forecast = [None, None, None, 150, 160, 170, 180]
    low = [None, None, None, 150, 140, 135, 130]
    high = [None, None, None, 150, 185, 205, 240]
    root = parse(
        line_chart(
            [Line("Views", actual), Line("Forecast", forecast)],
            title="Forecast",
            x_labels=DAYS,
            band=Band("80 % interval", low, high),
            markers=[(3, "today")],
        )
    )

    (polygon,) = find(root, "polygon", "band")
    assert polygon.get("data-series") == "80 % interval"
    assert len(points_of(polygon)) == 8  # four highs, then four lows back
    order = list(root.iter())
    assert order.index(polygon) < min(order.index(line) for line in find(root, "polyline"))
    ranges = find(root, "line", "band-range")
    assert [(r.get("data-x"), r.get("data-low"), r.get("data-high")) for r in ranges] == [
        (DAYS[i], str(low[i]), str(high[i])) for i in range(3, 7)
    ]
    for band_range in ranges:  # the upper bound is higher on screen
        assert number(band_range, "y2") <= number(band_range, "y1")
    assert ticks(root)[-1] >= 240  # the band counts for the axis
    legend = [text.text for text in find(root, "text", "legend-label")]
    assert legend == ["Views", "Forecast", "80 % interval"]
    (marker,) = find(root, "line", "marker")
    assert marker.get("data-x") == DAYS[3]
    assert marker.get("stroke-dasharray")
    assert [t.text for t in find(root, "text", "marker-label")] == ["today"]


def test_a_band_needs_both_bounds_in_order() -> None:
    with pytest.raises(ValueError, match="disagree"):
        line_chart(
            [Line("Views", [1] * 7)],
            title="t",
            x_labels=DAYS,
            band=Band("b", [1, 2, 3, 4, 5, 6, 7], [2, 3, 4, 5, 6, 7, 1]),
        )
    with pytest.raises(ValueError, match="disagree"):
        line_chart(
            [Line("Views", [1] * 7)],
            title="t",
            x_labels=DAYS,
            band=Band("b", [1, 2, 3, 4, 5, 6, None], [2, 3, 4, 5, 6, 7, 8]),
        )


def test_a_marker_outside_the_chart_is_refused() -> None:
    with pytest.raises(ValueError, match="marker"):
        line_chart([Line("Views", [1] * 7)], title="t", x_labels=DAYS, markers=[(7, "late")])


def test_tooltips_say_the_x_label_and_the_formatted_value() -> None:
    root = parse(
        line_chart(
            [Line("Views", [1234, 5, 6, 7, 8, 9, 10], unit="views")],
            title="Views",
            x_labels=[f"2026-11-{day:02d}" for day in range(3, 10)],
            y_format=fmt_int,
        )
    )
    first = find(root, "circle")[0]
    assert first.findtext(SVG + "title") == "2026-11-03: 1,234 views"
    assert not find(root, "g", "legend")  # one series needs no legend

    two = parse(line_chart([Line("A", [1] * 7), Line("B", [2] * 7)], title="t", x_labels=DAYS))
    assert find(two, "circle")[-1].findtext(SVG + "title") == "B, 2026-11-07: 2"
    assert len(find(two, "g", "legend-item")) == 2


def test_series_colours_come_from_classes_with_inline_defaults() -> None:
    series = [Line(f"s{i}", [i + 1] * 7) for i in range(7)]
    root = parse(line_chart(series, title="t", x_labels=DAYS))

    classes = [line.get("class") for line in find(root, "polyline")]
    assert classes == [f"line series-{i % 6}" for i in range(7)]
    for line in find(root, "polyline"):
        assert line.get("stroke", "").startswith("#")
        assert line.get("fill") == "none"
    assert find(root, "line", "grid")
    assert find(root, "line", "axis")


# --- what every chart shares --------------------------------------------------------------


def every_kind() -> list[Callable[[str], Markup]]:
    return [
        lambda title: line_chart([Line("Views", [1, 2, 3])], title=title, x_labels=["a", "b", "c"]),
        lambda title: bar_chart([("a", 1), ("b", 2)], title=title),
        lambda title: bar_chart([("a", 1), ("b", 2)], title=title, horizontal=True),
        lambda title: stacked_bar_chart(["a", "b"], [Line("x", [1, 2])], title=title),
        lambda title: scatter_chart(
            [Point(1, 2, "v")], title=title, x_title="gap", y_title="reach"
        ),
    ]


@pytest.mark.parametrize(
    ("draw", "kind"),
    list(zip(every_kind(), ["line", "bar", "bar", "stacked-bar", "scatter"], strict=True)),
)
def test_the_root_is_an_accessible_responsive_svg(draw: Callable[[str], Markup], kind: str) -> None:
    root = parse(draw("Views per day"))

    assert root.tag == SVG + "svg"
    assert root.get("class", "").split() == ["chart", f"chart-{kind}"]
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("height") is None  # the viewBox gives the height
    assert len(root.get("viewBox", "").split()) == 4
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (SVG + "title", SVG + "desc")
    assert title.text == "Views per day"
    assert desc.text and desc.text.endswith(".")
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    assert root.get("data-chart") is None


def test_chart_id_names_the_chart_and_its_ids() -> None:
    root = parse(bar_chart([("a", 1)], title="t", chart_id="age bands"))

    assert root.get("data-chart") == "age bands"
    assert root.get("aria-labelledby") == "chart-age-bands-title"


def test_the_desc_summarises_the_series() -> None:
    root = parse(
        line_chart(
            [Line("Views", [10, 2500, 30, 4, 5, 6, 700])],
            title="t",
            x_labels=DAYS,
            y_format=fmt_int,
        )
    )
    assert root.findtext(SVG + "desc") == (
        "7 points from 2026-11-01 to 2026-11-07: Views peaks at 2,500 on 2026-11-02, ends at 700."
    )


@pytest.mark.parametrize("draw", every_kind())
def test_text_is_escaped(draw: Callable[[str], Markup]) -> None:
    hostile = '<script>alert("x")</script> & <b>co</b>'
    root = parse(draw(hostile))

    assert root.findtext(SVG + "title") == hostile
    tags = {element.tag for element in root.iter()}
    assert SVG + "script" not in tags and SVG + "b" not in tags


def test_labels_names_and_units_are_escaped_everywhere() -> None:
    name, label, unit = 'Views "all" & more', "<img src=x onerror=alert(1)>", "<i>views</i>"
    markup = line_chart(
        [Line(name, [1, 2]), Line("B", [2, 1], unit=unit)],
        title="t",
        x_labels=[label, "b\x00\x07"],  # control characters cannot be in XML: dropped
        markers=[(0, "<b>launch</b>")],
    )
    root = parse(markup)

    assert "<img" not in str(markup) and "<i>" not in str(markup)
    assert {c.get("data-series") for c in find(root, "circle")} == {name, "B"}
    assert {c.get("data-x") for c in find(root, "circle")} == {label, "b"}
    assert find(root, "circle")[-1].findtext(SVG + "title") == "B, b: 1 <i>views</i>"
    assert [t.text for t in find(root, "text", "marker-label")] == ["<b>launch</b>"]
    assert [t.text for t in find(root, "text", "legend-label")] == [name, "B"]


def test_charts_go_into_jinja_templates_unescaped() -> None:
    chart = bar_chart([("a & b", 1)], title="t")
    page = Environment(autoescape=True).from_string("<div>{{ chart }}</div>").render(chart=chart)

    assert page == f"<div>{chart}</div>"
    assert "a &amp; b" in page


@pytest.mark.parametrize(
    "draw",
    [
        lambda: line_chart([], title="t", x_labels=DAYS),
        lambda: line_chart([Line("Views", [])], title="t", x_labels=DAYS),
        lambda: line_chart([Line("Views", [])], title="t", x_labels=[]),
        lambda: line_chart([Line("Views", [None] * 7)], title="t", x_labels=DAYS),
        lambda: bar_chart([], title="t"),
        lambda: bar_chart([], title="t", horizontal=True),
        lambda: stacked_bar_chart(["a", "b"], [Line("x", [None, None])], title="t"),
        lambda: stacked_bar_chart([], [], title="t"),
        lambda: scatter_chart([], title="t", x_title="x", y_title="y"),
    ],
)
def test_no_data_draws_the_empty_message(draw: Callable[[], Markup]) -> None:
    root = parse(draw())

    (message,) = find(root, "text", "empty")
    assert message.text == EMPTY_MESSAGE
    assert root.findtext(SVG + "desc") == f"{EMPTY_MESSAGE}."
    assert not find(root, "circle") and not find(root, "rect")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "draw",
    [
        lambda bad: line_chart([Line("Views", [1, bad])], title="t", x_labels=["a", "b"]),
        lambda bad: line_chart(
            [Line("Views", [1, 2])],
            title="t",
            x_labels=["a", "b"],
            band=Band("b", [0, 1], [2, bad]),
        ),
        lambda bad: bar_chart([("a", 1), ("b", bad)], title="t"),
        lambda bad: stacked_bar_chart(["a"], [Line("x", [bad])], title="t"),
        lambda bad: scatter_chart([Point(bad, 1, "v")], title="t", x_title="x", y_title="y"),
        lambda bad: scatter_chart([Point(1, bad, "v")], title="t", x_title="x", y_title="y"),
    ],
)
def test_nan_and_infinity_are_refused(draw: Callable[[float], Markup], bad: float) -> None:
    with pytest.raises(ValueError, match="cannot be drawn"):
        draw(bad)


def test_misaligned_or_non_numeric_series_are_refused() -> None:
    with pytest.raises(ValueError, match="3 values for 7 x labels"):
        line_chart([Line("Views", [1, 2, 3])], title="t", x_labels=DAYS)
    with pytest.raises(TypeError, match="not a number"):
        line_chart([Line("Views", ["12"])], title="t", x_labels=["a"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a number"):
        bar_chart([("a", True)], title="t")


def test_output_is_deterministic() -> None:
    def draw() -> Markup:
        return line_chart(
            [Line("Views", [0.1, 2.5, None, 7, 11, 3, 1e6]), Line("Likes", [1] * 7)],
            title="Views",
            x_labels=DAYS,
            band=Band("interval", [None] * 5 + [2, 3], [None] * 5 + [4, 5]),
            markers=[(2, "today")],
        )

    assert draw() == draw()
    assert scatter_chart([Point(1, 2, "a")], title="t", x_title="x", y_title="y") == scatter_chart(
        [Point(1, 2, "a")], title="t", x_title="x", y_title="y"
    )
    # Charts without an id still get distinct element ids on the same page.
    first = parse(bar_chart([("a", 1)], title="t")).get("aria-labelledby")
    second = parse(bar_chart([("a", 2)], title="t")).get("aria-labelledby")
    assert first != second


# --- x labels -----------------------------------------------------------------------------


def test_x_labels_are_thinned_so_they_never_overlap() -> None:
    days = [f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}" for day in range(365)]
    values = [day % 50 for day in range(365)]
    root = parse(line_chart([Line("Views", values)], title="Year", x_labels=days))

    shown = find(root, "text", "x-label")
    assert 2 <= len(shown) <= MAX_X_LABELS
    assert shown[-1].text == days[-1]  # the most recent day is always labelled
    xs = [number(text, "x") for text in shown]
    label_width = 10 * 6.5  # ten characters at about 6.5 px each (11 px font)
    assert all(b - a > label_width for a, b in itertools.pairwise(xs))
    assert len(find(root, "circle")) == 365  # thinning hides labels, never points


def test_a_few_x_labels_are_all_shown() -> None:
    labels = ["0 s", "1 s", "2 s", "3 s", "4 s"]
    root = parse(
        line_chart([Line("Retention", [1, 0.8, 0.6, 0.5, 0.45])], title="t", x_labels=labels)
    )

    assert [text.text for text in find(root, "text", "x-label")] == labels


# --- bars ---------------------------------------------------------------------------------


def test_vertical_bar_heights_are_proportional_to_the_values() -> None:
    bars = [("For You", 4200), ("Following", 800), ("Search", 350), ("Profile", 0), ("Sound", 1.5)]
    root = parse(bar_chart(bars, title="Traffic", y_format=fmt_int))

    rects = find(root, "rect", "bar")
    assert [(r.get("data-label"), r.get("data-value")) for r in rects] == [
        ("For You", "4200"),
        ("Following", "800"),
        ("Search", "350"),
        ("Profile", "0"),
        ("Sound", "1.5"),
    ]
    per_unit = number(rects[0], "height") / 4200
    for rect, (_, value) in zip(rects, bars, strict=True):
        assert number(rect, "height") == pytest.approx(value * per_unit, abs=0.02)
    bottoms = {round(number(r, "y") + number(r, "height"), 1) for r in rects}
    assert len(bottoms) == 1  # all stand on the zero line
    xs = [number(r, "x") for r in rects]
    assert xs == sorted(xs)
    assert rects[0].findtext(SVG + "title") == "For You: 4,200"
    assert ticks(root)[-1] >= 4200


def test_negative_bars_hang_below_the_zero_line() -> None:
    root = parse(bar_chart([("gained", 30), ("lost", -12)], title="Followers"))

    gained, lost = find(root, "rect", "bar")
    (axis,) = find(root, "line", "axis")
    zero = number(axis, "y1")
    assert number(gained, "y") + number(gained, "height") == pytest.approx(zero, abs=0.02)
    assert number(lost, "y") == pytest.approx(zero, abs=0.02)
    assert number(lost, "height") / 12 == pytest.approx(number(gained, "height") / 30, rel=1e-3)


def test_horizontal_bar_widths_are_proportional_with_values_at_their_ends() -> None:
    bands = [("13–17", 120), ("18–24", 4500), ("25–34", 3000), ("35–44", 800), ("45+", 20)]
    root = parse(bar_chart(bands, title="Ages", y_format=fmt_int, horizontal=True))

    rects = find(root, "rect", "bar")
    assert [(r.get("data-label"), r.get("data-value")) for r in rects] == [
        (label, str(value)) for label, value in bands
    ]
    per_unit = number(rects[1], "width") / 4500
    for rect, (_, value) in zip(rects, bands, strict=True):
        assert number(rect, "width") == pytest.approx(value * per_unit, abs=0.02)
    ys = [number(r, "y") for r in rects]
    assert ys == sorted(ys)  # first bar on top
    values = find(root, "text", "value-label")
    assert [t.text for t in values] == ["120", "4,500", "3,000", "800", "20"]
    for rect, text in zip(rects, values, strict=True):
        assert number(text, "x") > number(rect, "x") + number(rect, "width")
    assert [t.text for t in find(root, "text", "y-label")] == [label for label, _ in bands]
    root_height = float(root.get("viewBox", "").split()[3])
    assert root_height >= 5 * 20  # grows with the number of bars


def test_long_category_labels_are_cut_on_screen_but_whole_in_data() -> None:
    label = "A very long traffic source name that would not fit"
    root = parse(bar_chart([(label, 3)], title="t", horizontal=True))

    (rect,) = find(root, "rect", "bar")
    assert rect.get("data-label") == label
    (text,) = find(root, "text", "y-label")
    assert text.text and text.text.endswith("…") and len(text.text) < len(label)


def test_stacked_segments_carry_their_values_and_stack_up() -> None:
    months = ["2026-08", "2026-09", "2026-10"]
    stacks = [Line("dance", [10, 20, None]), Line("comedy", [5, 0, 8]), Line("food", [1, 2.5, 4])]
    root = parse(stacked_bar_chart(months, stacks, title="Mix", y_format=fmt_int))

    segments = find(root, "rect", "segment")
    assert sorted(
        (s.get("data-x"), s.get("data-series"), s.get("data-value")) for s in segments
    ) == sorted(
        (month, line.name, repr(v) if isinstance(v, float) else str(v))
        for line in stacks
        for month, v in zip(months, line.values, strict=True)
        if v is not None
    )
    per_unit = number(segments[0], "height") / 10
    columns = find(root, "g", "stack")
    assert [(g.get("data-x"), g.get("data-total")) for g in columns] == [
        ("2026-08", "16"),
        ("2026-09", "22.5"),
        ("2026-10", "12"),
    ]
    for column in columns:
        parts = list(column.iter(SVG + "rect"))
        for lower, upper in itertools.pairwise(parts):  # bottom up, touching
            assert number(upper, "y") + number(upper, "height") == pytest.approx(
                number(lower, "y"), abs=0.02
            )
        for part in parts:
            value = float(part.get("data-value", ""))
            assert number(part, "height") == pytest.approx(value * per_unit, abs=0.02)
    assert ticks(root)[-1] >= 22.5
    assert [t.text for t in find(root, "text", "legend-label")] == ["dance", "comedy", "food"]
    assert {s.get("class") for s in segments if s.get("data-series") == "comedy"} == {
        "segment series-1"
    }


def test_negative_values_cannot_be_stacked() -> None:
    with pytest.raises(ValueError, match="negative"):
        stacked_bar_chart(["a"], [Line("x", [-1])], title="t")


# --- scatter ------------------------------------------------------------------------------


def test_scatter_points_carry_both_values_and_sit_where_they_belong() -> None:
    points = [Point(2, 1500, "Dance #1"), Point(30, 900, "Recipe"), Point(72.5, 4100, "Vlog")]
    root = parse(
        scatter_chart(
            points,
            title="Reach against the gap since the previous post",
            x_title="Hours since the previous post",
            y_title="Reach",
            x_format=fmt_int,
            y_format=fmt_compact,
        )
    )

    circles = find(root, "circle")
    assert [(c.get("data-x"), c.get("data-y"), c.get("data-label")) for c in circles] == [
        ("2", "1500", "Dance #1"),
        ("30", "900", "Recipe"),
        ("72.5", "4100", "Vlog"),
    ]
    xs = [number(c, "cx") for c in circles]
    assert xs == sorted(xs)
    assert number(circles[2], "cy") < number(circles[0], "cy") < number(circles[1], "cy")
    assert circles[2].findtext(SVG + "title") == (
        "Vlog — Hours since the previous post: 73, Reach: 4.1K"
    )
    titles = [t.text for t in find(root, "text", "axis-title")]
    assert titles == ["Hours since the previous post", "Reach"]


# --- formatters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (7, "7"), (1234, "1,234"), (1234.5, "1,235"), (-9876543, "-9,876,543")],
)
def test_fmt_int(value: float, text: str) -> None:
    assert fmt_int(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (12, "12"),
        (12.5, "12.5"),
        (0.25, "0.25"),
        (999, "999"),
        (1000, "1K"),
        (1234, "1.2K"),
        (1250, "1.3K"),
        (12_345, "12.3K"),
        (999_960, "1M"),
        (1_234_567, "1.2M"),
        (3_400_000, "3.4M"),
        (1_100_000_000, "1.1B"),
        (2.5e12, "2.5T"),
        (-4_560, "-4.6K"),
    ],
)
def test_fmt_compact(value: float, text: str) -> None:
    assert fmt_compact(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 %"), (0.45, "45 %"), (0.456, "45.6 %"), (0.0456, "4.6 %"), (1, "100 %"), (0.5, "50 %")],
)
def test_fmt_percent(value: float, text: str) -> None:
    assert fmt_percent(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 s"),
        (500, "0.5 s"),
        (12_345, "12.3 s"),
        (10_000, "10 s"),
        (59_960, "1m 00s"),
        (65_000, "1m 05s"),
        (605_400, "10m 05s"),
        (3_720_000, "1h 02m"),
    ],
)
def test_fmt_duration_ms(value: float, text: str) -> None:
    assert fmt_duration_ms(value) == text
