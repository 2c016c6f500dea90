"""The Vega-Lite grid and bar charts (charts_grid): spec data checked against hand-made
inputs and numbers worked out by hand, schema-valid specs, and the SVG vl-convert draws."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from altair.vegalite.v6.schema.core import load_schema

from dagster_project.reports import charts
from dagster_project.reports import charts_grid as g

# A 3x3 cohort triangle; the second cohort's month 1 is missing (None), and the third
# cohort has not reached months 1 and 2 yet.
ROWS = ["Jan 24", "Feb 24", "Mar 24"]
COLS = ["0", "1", "2"]
MATRIX: list[list[float | None]] = [
    [1.0, 0.62, 0.4375],
    [1.0, None, 0.3],
    [1.0, None, None],
]
FUNNEL = [("Visit", 1000.0), ("Sign-up", 400.0), ("Paid", 100.0)]
BARS = (["Ann", "Bob", "Cy"], [1.234, 0.8, None], [charts.GOOD, charts.WARN, charts.BAD])
SHARES = [
    ("Customers", [("Tier A", 0.2, "#0b3c74"), ("Tier B", 0.3, "#3f7fc4"), ("Tier C", 0.5, "#a9c6ea")]),
    ("Revenue", [("Tier A", 0.8, "#0b3c74"), ("Tier B", 0.17, "#3f7fc4"), ("Tier C", 0.03, "#a9c6ea")]),
]


def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows of the chart's marks: the spec's data (Altair lifts data all layers
    share to the top), else its first layer's (later layers are legends, references or
    axes with their own small data)."""
    return (spec.get("data") or spec["layer"][0]["data"])["values"]


def _heatmap(**kw: Any) -> charts.Figure:
    return g.heatmap_chart(ROWS, COLS, MATRIX, x_title="Months since start", y_title="Cohort",
                           **kw)


def _figures() -> dict[str, charts.Figure]:
    labels, values, colours = BARS
    return {
        "heatmap": _heatmap(sizes=["120", "80", "95"], heading="Customer cohorts"),
        "funnel": g.funnel_chart(FUNNEL, heading="Funnel"),
        "hbar": g.hbar_chart(labels, values, colours, kind="fraction", unit="Attainment",
                             refs=[charts.Ref(1.0, "quota", charts.INK)],
                             notes=["$1.2k of $1k", "", ""]),
        "share": g.share_bars_chart(SHARES),
    }


# ---------------------------------------------------------------- heatmap


def test_heatmap_rows_hold_each_present_cell_and_no_row_for_a_missing_one() -> None:
    rows = _rows(_heatmap().spec)
    cells = {(r["r"], r["c"]): r["value"] for r in rows}
    # 9 cells less 3 missing: a missing cell has no row at all (not a row with value null)
    assert cells == {(0, 0): 1.0, (0, 1): 0.62, (0, 2): 0.4375,
                     (1, 0): 1.0, (1, 2): 0.3,
                     (2, 0): 1.0}
    assert all(r["value"] is not None for r in rows)
    # names, the text written in the cell (fractions as whole percentages) and the tooltip
    cell = next(r for r in rows if (r["r"], r["c"]) == (0, 2))
    assert (cell["row"], cell["col"], cell["text"]) == ("Jan 24", "2", "44")
    assert cell["tip"] == "Cohort Jan 24, months since start 2: 43.8%"


def test_a_nan_cell_is_missing_too() -> None:
    fig = g.heatmap_chart(["a"], ["0", "1"], [[0.5, float("nan")]], x_title="M", y_title="C")
    assert [r["value"] for r in _rows(fig.spec)] == [0.5]


def test_heat_colours_and_their_text_colours() -> None:
    # stops evenly spaced on [lo, hi]: 0.3 on [0, 1] is 0.2 of the way from stop 0.25 to
    # 0.5: #c6dbef + 0.2 * (#6baed6 - #c6dbef) = (180, 210, 234)
    assert g.heat_colour(0.3) == "#b4d2ea"
    assert g.heat_colour(0.75, lo=0.5, hi=1.0) == "#6baed6"  # halfway on a 50..100% scale
    assert g.heat_colour(1.7) == "#08306b" and g.heat_colour(-1) == "#f4f8fc"  # clamped
    assert g.heat_colour(None) == "#eceff1"
    assert g.text_on("#08306b") == "#ffffff" and g.text_on("#b4d2ea") == charts.INK
    # the colour floor: on a 40..100% scale 0.4375 is 1/16 of the way: light, dark text;
    # and 1.0 is the darkest blue with white text
    rows = _rows(_heatmap(lo=0.4).spec)
    ink = {(r["r"], r["c"]): r["ink"] for r in rows}
    assert ink[(0, 2)] == charts.INK and ink[(0, 0)] == "#ffffff"
    assert _heatmap(lo=0.4).spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == [
        pytest.approx(v) for v in (0.4, 0.55, 0.7, 0.85, 1.0)]


def test_heatmap_svg_fills_are_the_colours_the_text_colour_was_chosen_for() -> None:
    fig = _heatmap(lo=0.3)
    svg = charts.render_svg(fig.spec)
    fills = re.findall(r'aria-roledescription="rect mark" d="[^"]*" fill="rgb\((\d+), (\d+), (\d+)\)"',
                       svg)
    drawn = sorted("#" + "".join(f"{int(c):02x}" for c in rgb) for rgb in fills)
    expected = sorted(g.heat_colour(v, 0.3, 1.0) for row in MATRIX for v in row if v is not None)
    assert drawn == expected and len(drawn) == 6


def test_heatmap_sizes_are_a_second_axis() -> None:
    spec = _heatmap(sizes=["120", "80", "95"]).spec
    assert spec["resolve"] == {"axis": {"y": "independent"}}
    axis = spec["layer"][-1]["encoding"]["y"]["axis"]
    assert axis["labelExpr"] == '["120", "80", "95"][datum.value]' and axis["orient"] == "right"


def test_narrow_cells_get_no_text() -> None:
    fig = g.heatmap_chart(ROWS, COLS, MATRIX, x_title="M", y_title="C", width=60)  # 20 px
    assert [layer["mark"]["type"] for layer in fig.spec["layer"]] == ["rect"]


# ---------------------------------------------------------------- funnel


def test_funnel_rows_hold_users_and_conversions_worked_out_by_hand() -> None:
    rows = _rows(g.funnel_chart(FUNNEL).spec)
    assert [r["value"] for r in rows] == [1000.0, 400.0, 100.0]
    # from the step before: 400 / 1000 = 0.4, 100 / 400 = 0.25; the first has none
    assert [r["previous"] for r in rows] == [None, 0.4, 0.25]
    # from the first step: 1000 / 1000, 400 / 1000, 100 / 1000
    assert [r["overall"] for r in rows] == [1.0, 0.4, 0.1]
    assert [r["from_previous"] for r in rows] == [None, "40.0% of previous", "25.0% of previous"]
    assert [r["from_first"] for r in rows] == [None, "40.0% of first step", "10.0% of first step"]
    assert rows[2]["tip"] == "Paid: 100 (from previous step 25.0%, overall 10.0%)"
    # centred bars as wide as the users
    assert [(r["left"], r["right"]) for r in rows] == [(-500, 500), (-200, 200), (-50, 50)]
    # at 640 px: 640, 256 and 64 px wide bars; the count goes inside from 90 px
    assert [r["inside"] for r in rows] == [True, True, False]


# ---------------------------------------------------------------- bars


def test_hbar_rows_hold_the_values_and_a_missing_one_is_null() -> None:
    labels, values, colours = BARS
    fig = g.hbar_chart(labels, values, colours, kind="fraction", unit="Attainment",
                       notes=["$1.2k of $1k", "", ""])
    rows = _rows(fig.spec)
    # a missing value keeps its row (its label and "no data" stay), with value null
    assert [r["value"] for r in rows] == [1.234, 0.8, None]
    assert [r["colour"] for r in rows] == colours
    assert [r["text"] for r in rows] == ["123.4%", "80.0%", "no data"]
    assert rows[0]["tip"] == "Ann: 123.4% · $1.2k of $1k"


def test_hbar_reference_lines_sit_at_their_value() -> None:
    labels, values, colours = BARS
    spec = g.hbar_chart(labels, values, colours, kind="fraction", unit="u",
                        refs=[charts.Ref(1.0, "quota", charts.INK)]).spec
    refs = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert [layer["data"]["values"] for layer in refs] == [[{"value": 1.0, "label": "quota"}]]


def test_share_rows_hold_each_share_and_where_its_segment_starts() -> None:
    rows = _rows(g.share_bars_chart(SHARES).spec)
    assert [(r["row"], r["part"], r["value"]) for r in rows] == [
        (row, part, share) for row, parts in SHARES for part, share, _ in parts]
    revenue = [r for r in rows if r["row"] == "Revenue"]
    assert [r["start"] for r in revenue] == pytest.approx([0.0, 0.8, 0.97])
    assert [r["end"] for r in revenue] == pytest.approx([0.8, 0.97, 1.0])
    # 3% of 640 px is 19 px: too narrow for its percentage
    assert [r["text"] for r in revenue] == ["80%", "17%", None]


def test_share_legend_names_each_part_once_in_its_colour() -> None:
    spec = g.share_bars_chart(SHARES).spec
    scale = spec["layer"][-1]["encoding"]["color"]["scale"]
    assert scale == {"domain": ["Tier A", "Tier B", "Tier C"],
                     "range": ["#0b3c74", "#3f7fc4", "#a9c6ea"]}


# ---------------------------------------------------------------- every chart


@pytest.mark.parametrize("name", ["heatmap", "funnel", "hbar", "share"])
def test_specs_are_valid_vega_lite_and_render_to_svg(name: str) -> None:
    fig = _figures()[name]
    jsonschema.validate(fig.spec, load_schema())
    assert fig.spec["$schema"].endswith(f"/v{charts.VL_VERSION}.json")
    html = fig.html()
    assert "<svg" in html and 'class="vl-spec"' in html


def test_empty_inputs_still_give_valid_charts() -> None:
    for fig in (
        g.heatmap_chart([], [], [], x_title="M", y_title="C"),
        g.funnel_chart([]),
        g.hbar_chart([], [], [], kind="count", unit="n"),
        g.share_bars_chart([]),
    ):
        jsonschema.validate(fig.spec, load_schema())
        assert "<svg" in fig.html()
