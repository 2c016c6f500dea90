"""The KPI report's chart helpers, checked against geometry and colours computed by hand."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from dagster_project.reports import fmt
from dagster_project.reports import svg as s

NS = {"svg": "http://www.w3.org/2000/svg"}


def _marks(svg_text: str, tag: str = "rect") -> list[ET.Element]:
    root = ET.fromstring(svg_text)
    return [e for e in root.iter(f"{{{NS['svg']}}}{tag}") if e.get("class") == "mark"]


def _title(e: ET.Element) -> str:
    t = e.find("svg:title", NS)
    return "" if t is None else t.text or ""


# ---------------------------------------------------------------- scales and ticks


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert s.nice_ticks(0, 95) == [0, 20, 40, 60, 80, 100]
    # span 0.043 / 5 = 0.0086 -> step 0.01; from floor(0.013) to ceil(0.056)
    assert s.nice_ticks(0.013, 0.056) == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
    assert s.nice_ticks(-7, 12) == [-10, -5, 0, 5, 10, 15]


def test_a_flat_range_still_gets_an_axis() -> None:
    assert s.nice_ticks(0, 0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = s.nice_ticks(50, 50)
    assert ticks[0] <= 50 <= ticks[-1] and len(ticks) > 1


def test_linear_maps_the_domain_onto_the_range() -> None:
    y = s.linear((0, 10), (100, 0))  # values up, pixels down
    assert y(0) == 100 and y(10) == 0 and y(2.5) == 75


def test_label_step_keeps_labels_apart() -> None:
    # 24 months over 556 px: 23.2 px a slot; 'Jan 24' at 11 px is ~39.6 px wide + 8 px gap
    assert s.label_step(556 / 24, s.text_width("Jan 24", 11)) == 3
    assert s.label_step(100, 40) == 1


# ---------------------------------------------------------------- waterfalls

STEPS = [
    s.Step("Start", 100, "total"),
    s.Step("New", 20),
    s.Step("Expansion", 5),
    s.Step("Contraction", -10),
    s.Step("Churn", -3),
    s.Step("End", 112, "total"),
]


def test_waterfall_bars_start_where_the_previous_ended() -> None:
    spans = s.waterfall_geometry(STEPS)
    assert [(x.lo, x.hi) for x in spans] == [
        (0, 100),
        (100, 120),
        (120, 125),
        (115, 125),
        (112, 115),
        (0, 112),
    ]
    level = 100.0
    for step, span in zip(STEPS[1:-1], spans[1:-1], strict=True):
        start, end = level, level + step.value
        assert {span.lo, span.hi} == {start, end}
        level = end
    assert level == STEPS[-1].value  # the deltas land exactly on the end total


def test_waterfall_chart_pixels_follow_the_value_axis() -> None:
    # Plot box: top 0 + 10 + 6 = 16 px, bottom 300 - 40 = 260 px. Movements (100..125) are
    # small beside the totals, so the axis is cut: ticks of nice_ticks(91.25, 127) = 90..130,
    # 244 px for 40 units: y(v) = 260 - (v - 90) * 6.1.
    chart = s.waterfall_chart(STEPS, unit="MRR", width=700, height=300)
    rects = _marks(chart)
    assert len(rects) == 6

    def y(v: float) -> float:
        return 260 - (v - 90) * 6.1

    new = rects[1]
    assert float(new.get("y")) == pytest.approx(y(120), abs=0.01)  # 77
    assert float(new.get("height")) == pytest.approx(y(100) - y(120), abs=0.01)  # 122
    # each delta bar's pixel edges are the level before it and the level after it
    level = 100.0
    for rect, step in zip(rects[1:-1], STEPS[1:-1], strict=True):
        top, bottom = float(rect.get("y")), float(rect.get("y")) + float(rect.get("height"))
        edges = sorted([y(level), y(level + step.value)])
        assert [top, bottom] == pytest.approx(edges, abs=0.02)
        level += step.value
    # gains green, losses red
    assert rects[1].get("fill") == s.GOOD and rects[4].get("fill") == s.BAD
    assert "+$20" in _title(rects[1]) and "\u2212$3" in _title(rects[4])


def test_monthly_waterfall_steps_from_zero_to_net_new() -> None:
    assert s.delta_levels([50, 10, 5, -8, -7]) == [(0, 50), (50, 60), (60, 65), (65, 57), (57, 50)]
    months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    moves = [
        {"new": 50, "expansion": 10, "reactivation": 5, "contraction": 8, "churned": 7},
        {"new": 0, "expansion": 0, "reactivation": 0, "contraction": 0, "churned": 20},
    ]
    chart = s.monthly_waterfall_chart(months, moves, unit="USD")
    rects = _marks(chart)
    assert len(rects) == 10  # five movements a month
    assert [r.get("fill") for r in rects[:5]] == [s.MOVEMENT_COLOURS[k] for k, _ in s.MOVEMENTS]
    # bars of a month touch: the bottom of a gain is the top of the gain before it
    jan = rects[:5]
    assert float(jan[1].get("y")) + float(jan[1].get("height")) == pytest.approx(
        float(jan[0].get("y")), abs=0.01
    )
    nets = [
        _title(e)
        for e in ET.fromstring(chart).iter(f"{{{NS['svg']}}}line")
        if e.get("class") == "mark"
    ]
    assert nets == ["Jan 2024 · Net new MRR: +$50", "Feb 2024 · Net new MRR: \u2212$20"]


# ---------------------------------------------------------------- colours


def test_heat_colour_interpolates_between_its_stops() -> None:
    assert s.heat_colour(0.5) == "#6baed6"  # a stop
    # 0.3 is a fifth of the way from the 0.25 stop (198,219,239) to the 0.5 stop (107,174,214):
    # 198 - 91/5 = 179.8, 219 - 45/5 = 210, 239 - 25/5 = 234
    assert s.heat_colour(0.3) == "#b4d2ea"
    assert s.heat_colour(0.75, lo=0.5, hi=1.0) == "#6baed6"  # halfway on a 50..100% scale
    assert s.heat_colour(1.7) == "#08306b" and s.heat_colour(-1) == "#f4f8fc"  # clamped
    assert s.heat_colour(None) == "#eceff1"


def test_text_on_picks_the_readable_colour() -> None:
    assert s.text_on("#08306b") == "#ffffff"
    assert s.text_on("#f4f8fc") == s.INK
    assert s.text_on(s.WARN) == s.INK  # amber is light: dark text


def test_heatmap_cells_are_coloured_by_value_and_missing_cells_are_blank() -> None:
    chart = s.heatmap_chart(
        ["Jan 24", "Feb 24"],
        ["0", "1"],
        [[1.0, 0.3], [1.0, None]],
        x_title="Months since start",
        y_title="Cohort",
    )
    cells = _marks(chart)
    assert len(cells) == 3  # the cell not reached yet is not drawn
    assert [c.get("fill") for c in cells] == ["#08306b", "#b4d2ea", "#08306b"]
    assert _title(cells[1]) == "Cohort Jan 24, months since start 1: 30.0%"


# ---------------------------------------------------------------- charts


def test_xy_chart_stacks_gains_up_and_losses_down() -> None:
    spec = s.XYSpec(
        ["a", "b"],
        "count",
        "Customers",
        "Month",
        bars=[s.Series("New", [3, 4], s.GOOD), s.Series("Churned", [-2, -1], s.BAD)],
        width=400,
        height=200,
    )
    rects = _marks(s.xy_chart(spec))
    new_a, churn_a = rects[0], rects[1]
    zero = float(new_a.get("y")) + float(new_a.get("height"))
    assert float(churn_a.get("y")) == pytest.approx(zero, abs=0.01)  # losses hang from zero


def test_values_above_the_cap_are_cut_and_written() -> None:
    spec = s.XYSpec(
        ["a", "b"],
        "ratio",
        "Quick ratio",
        "Month",
        bars=[s.Series("", [545.2, 3.0], s.GOOD)],
        y_cap=10,
        width=400,
        height=200,
    )
    chart = s.xy_chart(spec)
    clipped = [
        t.text
        for t in ET.fromstring(chart).iter(f"{{{NS['svg']}}}text")
        if t.get("class") == "clip"
    ]
    assert clipped == ["\u2191 545\u00d7"]


def test_null_values_break_lines_and_never_crash() -> None:
    spec = s.XYSpec(
        ["a", "b", "c", "d"],
        "fraction",
        "Rate",
        "Month",
        lines=[s.Series("Churn", [0.1, None, 0.2, 0.3], s.BAD)],
        width=400,
        height=200,
    )
    path = _marks(s.xy_chart(spec), "path")[0]
    assert path.get("d").count("M") == 2  # one gap
    empty = s.XYSpec(["a"], "money", "MRR", "Month", lines=[s.Series("x", [None], s.BAD)])
    ET.fromstring(s.xy_chart(empty))  # still a valid SVG


def test_text_is_escaped() -> None:
    chart = s.xy_chart(s.XYSpec(["<b>&"], "count", "n", "x", bars=[s.Series("a<b", [1], s.GOOD)]))
    root = ET.fromstring(chart)  # parses: nothing unescaped
    assert "<b>&" in [t.text for t in root.iter(f"{{{NS['svg']}}}text")]


def test_svg_has_no_ids_so_many_can_share_a_page() -> None:
    charts = [
        s.waterfall_chart(STEPS, unit="u"),
        s.funnel_chart([("a", 10), ("b", 5)]),
        s.bullet(0.8, s.GOOD),
        s.sparkline([1, 2, 3]),
    ]
    assert not any(re.search(r'\sid="', c) for c in charts)


# ---------------------------------------------------------------- numbers for people


def test_money_is_compact_and_signed_with_a_real_minus() -> None:
    assert fmt.money(1_234_567) == "$1.23M"
    assert fmt.money(-5200) == "\u2212$5.2k"
    assert fmt.money(999_950) == "$1M"  # not '$1000k'
    assert fmt.money(12.5, "EUR") == "\u20ac12.5"
    assert fmt.money(100, "CHF") == "CHF\u2009100"
    assert fmt.money(None) == "\u2014"
    assert fmt.signed_money(20) == "+$20"


def test_rates_ratios_and_changes() -> None:
    assert fmt.pct(0.0246) == "2.5%"
    assert fmt.pct(-0.0004) == "0.0%"  # no minus on a rounded zero
    assert fmt.pct_points(0.012) == "+1.2 pp"
    assert fmt.ratio(3.24) == "3.2\u00d7" and fmt.ratio(545.2) == "545\u00d7"
    assert fmt.change(-26.3137, "months") == "\u221226.3 mo"
    assert fmt.value(float("nan"), "money") == "\u2014"


def test_tick_labels_have_just_enough_decimals() -> None:
    assert fmt.tick_labels([0, 500_000, 1_000_000, 1_500_000], "money") == [
        "$0",
        "$0.5M",
        "$1.0M",
        "$1.5M",
    ]
    assert fmt.tick_labels([0, 0.02, 0.04], "fraction") == ["0%", "2%", "4%"]
    assert fmt.tick_labels([0.96, 0.98, 1.0], "fraction") == ["96%", "98%", "100%"]
    assert fmt.tick_labels([0, 250, 500, 750, 1000], "count") == ["0", "250", "500", "750", "1,000"]
    assert fmt.tick_labels([0, 2.5, 5], "ratio") == ["0\u00d7", "2.5\u00d7", "5.0\u00d7"]
