"""The MRR bridge and the monthly MRR waterfall as Vega-Lite specs (charts_flow): their
data against numbers worked out by hand, the specs against the Vega-Lite schema, and the
bars vl-convert lays out (its scenegraph) against the values they stand for."""

from typing import Any

import altair as alt
import jsonschema
import pytest

from dagster_project.reports import charts
from dagster_project.reports import charts_flow as cf
from tests.vega_support import scene_items, spec_rows

# start 100, +30, -20, end 110
BRIDGE = [
    cf.Step("Start", 100, "total"),
    cf.Step("New", 30),
    cf.Step("Churn", -20),
    cf.Step("End", 110, "total"),
]

def _valid(spec: dict[str, Any]) -> None:
    jsonschema.validate(spec, alt.vegalite.v6.schema.core.load_schema())
    alt.LayerChart.from_dict(spec)  # Altair's own validation (raises when invalid)


# ---------------------------------------------------------------- the bridge


def test_bridge_rows_hold_the_spans_worked_out_by_hand() -> None:
    fig = cf.waterfall_chart(BRIDGE, unit="MRR (USD)", width=640, height=280)
    rows = [r for r in spec_rows(fig.spec) if "kind" in r]
    assert [r["x"] for r in rows] == ["Start", "New", "Churn", "End"]
    assert [r["value"] for r in rows] == [s.value for s in BRIDGE]
    # totals from zero; deltas from where the last bar ended
    assert [(r["base"], r["top"]) for r in rows] == [(0, 100), (100, 130), (130, 110), (0, 110)]
    assert [(r["lo"], r["hi"]) for r in rows] == [(0, 100), (100, 130), (110, 130), (0, 110)]
    assert [r["level"] for r in rows] == [100, 130, 110, 110]  # the deltas land on the end
    assert [r["next"] for r in rows] == ["New", "Churn", "End", None]
    assert [r["text"] for r in rows] == ["$100", "+$30", "\u2212$20", "$110"]
    assert [r["colour"] for r in rows] == [charts.PRIMARY, charts.GOOD, charts.BAD, charts.PRIMARY]
    assert rows[2]["tip"] == "Churn: \u2212$20"


def test_bridge_cuts_the_axis_when_the_totals_dwarf_the_deltas() -> None:
    # deltas span 100..130: 30 < 0.6 * 100, so the axis starts near 100, not 0:
    # [100 - 0.35 * 30, 130 + 0.08 * 30] = [89.5, 132.4], niced by Vega-Lite
    fig = cf.waterfall_chart(BRIDGE, unit="MRR (USD)")
    scale = fig.spec["layer"][0]["encoding"]["y"]["scale"]
    assert scale["domain"] == pytest.approx([89.5, 132.4])
    assert scale["zero"] is False and scale["clamp"] is True
    assert len(fig.spec["layer"]) == 4  # bars, connectors, value labels, zig-zags
    # small totals: the axis keeps zero, no zig-zag; 6% room over the top for its label
    small = cf.waterfall_chart(
        [cf.Step("Start", 10, "total"), cf.Step("New", 30), cf.Step("Churn", -20),
         cf.Step("End", 20, "total")], unit="u")
    scale = small.spec["layer"][0]["encoding"]["y"]["scale"]
    assert scale["domain"] == pytest.approx([0, 40 + 0.06 * 40]) and scale["zero"] is True
    assert len(small.spec["layer"]) == 3


def test_bridge_bars_as_laid_out_follow_the_values() -> None:
    fig = cf.waterfall_chart(BRIDGE, unit="MRR (USD)", width=640, height=280)
    bars = scene_items(fig.spec, "rect")
    assert len(bars) == 4
    start, new, churn, end = bars
    # the gain is green and goes up from the start's top; the loss red, down from the gain's
    assert new["fill"] == charts.GOOD and churn["fill"] == charts.BAD
    assert new["y2"] == pytest.approx(start["y"]) and churn["y"] == pytest.approx(new["y"])
    assert churn["y2"] == pytest.approx(end["y"])  # lands on the end total
    # one scale: pixels per unit alike for both deltas (30 and 20)
    assert new["height"] / 30 == pytest.approx(churn["height"] / 20)
    # the cut axis: totals reach the foot of the plot (clamped), with a zig-zag
    assert start["y2"] == pytest.approx(280) and end["y2"] == pytest.approx(280)
    assert len(scene_items(fig.spec, "symbol")) == 2
    # connectors at each bar's closing level, from one bar's right edge to the next's left
    rules = scene_items(fig.spec, "rule")
    assert [r["y"] for r in rules] == pytest.approx([start["y"], new["y"], end["y"]])
    assert [r["x"] for r in rules] == pytest.approx([b["x"] + b["width"] for b in bars[:-1]])
    assert [r["x2"] for r in rules] == pytest.approx([b["x"] for b in bars[1:]])
    # value labels sit above each bar
    labels = scene_items(fig.spec, "text")
    assert [t["text"] for t in labels] == ["$100", "+$30", "\u2212$20", "$110"]
    assert [t["y"] for t in labels] == pytest.approx([b["y"] for b in bars])


def test_bridge_colours_and_label_colours_follow_svg() -> None:
    steps = [cf.Step("Start", 5, "total", charts.PRIMARY_LIGHT),
             cf.Step("Reactivation", 1, colour=charts.GOOD_LIGHT),
             cf.Step("Contraction", -2, colour=charts.BAD_LIGHT),
             cf.Step("End", 4, "total")]
    rows = [r for r in spec_rows(cf.waterfall_chart(steps, unit="u").spec) if "kind" in r]
    assert [r["colour"] for r in rows] == [charts.PRIMARY_LIGHT, charts.GOOD_LIGHT,
                                           charts.BAD_LIGHT, charts.PRIMARY]
    # light bars get muted labels (white-ish text would not read); totals ink
    assert [r["text_colour"] for r in rows] == [charts.INK, charts.MUTED, charts.MUTED, charts.INK]


def test_bridge_of_another_kind_labels_deltas_by_that_kind() -> None:
    steps = [cf.Step("Start", 120, "total"), cf.Step("Hires", 12.5), cf.Step("End", 132.5, "total")]
    rows = [r for r in spec_rows(cf.waterfall_chart(steps, kind="count", unit="people").spec)
            if "kind" in r]
    assert [r["top"] for r in rows] == [120, 132.5, 132.5]
    assert rows[1]["value"] == 12.5


# ---------------------------------------------------------------- schema and rendering


@pytest.mark.parametrize("make", [
    lambda: cf.waterfall_chart(BRIDGE, unit="MRR (USD)", heading="MRR bridge"),
    lambda: cf.waterfall_chart([cf.Step("Start", 0, "total"), cf.Step("New", 5),
                                cf.Step("End", 5, "total")], unit="u"),
], ids=["bridge", "bridge-from-zero"])
def test_specs_validate_and_render_to_svg(make: Any) -> None:
    fig = make()
    assert isinstance(fig, charts.Figure)
    _valid(fig.spec)
    assert fig.spec["$schema"].endswith(f"v{charts.VL_VERSION}.json")
    html = fig.html()
    assert "<svg" in html and 'class="vl-spec"' in html
    assert f'aria-label="{fig.label}"' in html


def test_rendered_svg_writes_the_labels() -> None:
    bridge = charts.render_svg(cf.waterfall_chart(BRIDGE, unit="MRR (USD)").spec)
    for text in ("$100", "+$30", "\u2212$20", "$110", "Churn", "MRR (USD)"):
        assert text in bridge
