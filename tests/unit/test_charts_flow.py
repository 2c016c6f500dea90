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
BRIDGE = [cf.Step("Start", "total"), cf.Step("New", colour=charts.GOOD),
          cf.Step("Churn", colour=charts.BAD), cf.Step("End", "total")]
BRIDGE_VALUES = [[({}, 100.0)], [({}, 30.0)], [({}, -20.0)], [({}, 110.0)]]


def _valid(spec: dict[str, Any]) -> None:
    jsonschema.validate(spec, alt.vegalite.v6.schema.core.load_schema())
    alt.LayerChart.from_dict(spec)  # Altair's own validation (raises when invalid)


# ---------------------------------------------------------------- the bridge


def test_bridge_bars_as_laid_out_follow_the_values() -> None:
    fig = cf.waterfall_chart(BRIDGE, BRIDGE_VALUES, unit="MRR (USD)", width=640, height=280)
    bars = sorted(scene_items(fig.spec, "rect"), key=lambda b: b["x"])
    assert len(bars) == 4
    start, new, churn, end = bars
    # the gain is green and goes up from the start's top; the loss red, down from the gain's
    assert new["fill"] == charts.GOOD and churn["fill"] == charts.BAD
    assert new["y2"] == pytest.approx(start["y"]) and churn["y"] == pytest.approx(new["y"])
    assert churn["y2"] == pytest.approx(end["y"])  # lands on the end total
    # one scale: pixels per unit alike for both deltas (30 and 20)
    assert new["height"] / 30 == pytest.approx(churn["height"] / 20)
    # the cut axis (the deltas span 100..130: 30 < 0.6 x 100): totals reach the foot of
    # the plot, with a zig-zag
    assert start["y2"] == pytest.approx(280) and end["y2"] == pytest.approx(280)
    assert len([s for s in scene_items(fig.spec, "symbol") if s.get("opacity", 1) > 0]) == 2
    # connectors at each bar's closing level, from one bar's right edge to the next's left
    rules = scene_items(fig.spec, "rule")
    assert [r["y"] for r in rules] == pytest.approx([start["y"], new["y"], end["y"]])
    assert [r["x"] for r in rules] == pytest.approx([b["x"] + b["width"] for b in bars[:-1]])
    assert [r["x2"] for r in rules] == pytest.approx([b["x"] for b in bars[1:]])
    # value labels sit above each bar
    labels = scene_items(fig.spec, "text")
    assert [t["text"] for t in labels] == ["$100", "+$30", "\u2212$20", "$110"]
    assert [t["y"] for t in labels] == pytest.approx([b["y"] for b in bars])


def test_bridge_colours_and_label_colours() -> None:
    steps = [cf.Step("Start", "total", charts.PRIMARY_LIGHT),
             cf.Step("Reactivation", colour=charts.GOOD_LIGHT),
             cf.Step("Contraction", colour=charts.BAD_LIGHT),
             cf.Step("End", "total")]
    fig = cf.waterfall_chart(steps, [[({}, 5.0)], [({}, 1.0)], [({}, -2.0)], [({}, 4.0)]],
                             unit="u")
    rows = spec_rows(fig.spec)
    assert [r["colour"] for r in rows] == [charts.PRIMARY_LIGHT, charts.GOOD_LIGHT,
                                           charts.BAD_LIGHT, charts.PRIMARY]
    # light bars get muted labels (white-ish text would not read); totals ink
    assert [r["text_colour"] for r in rows] == [charts.INK, charts.MUTED, charts.MUTED, charts.INK]


def test_bridge_of_another_kind_labels_by_that_kind() -> None:
    steps = [cf.Step("Start", "total"), cf.Step("Hires"), cf.Step("End", "total")]
    fig = cf.waterfall_chart(steps, [[({}, 120.0)], [({}, 12.5)], [({}, 132.5)]],
                             kind="count", unit="people")
    assert [t["text"] for t in scene_items(fig.spec, "text")] == ["120", "+13", "133"]


# ---------------------------------------------------------------- schema and rendering


@pytest.mark.parametrize("make", [
    lambda: cf.waterfall_chart(BRIDGE, BRIDGE_VALUES, unit="MRR (USD)"),
    lambda: cf.waterfall_chart([cf.Step("Start", "total"), cf.Step("New"), cf.Step("End", "total")],
                               [[({}, 0.0)], [({}, 5.0)], [({}, 5.0)]], unit="u"),
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
    bridge = charts.render_svg(cf.waterfall_chart(BRIDGE, BRIDGE_VALUES, unit="MRR (USD)").spec)
    for text in ("$100", "+$30", "\u2212$20", "$110", "Churn", "MRR (USD)"):
        assert text in bridge


# ---------------------------------------------------------------- the bridge, sliced

# smb: start 100, new +50, churn -30, end 120; enterprise: start 1000, expansion +100,
# contraction -200, end 900. All: start 1100, +50, +100, -200, -30, end 1020.
SLICED_STEPS = [cf.Step("Start", "total"), cf.Step("New"), cf.Step("Expansion"),
                cf.Step("Contraction"), cf.Step("Churn"), cf.Step("End", "total")]
SMB, ENT = {"segment": "smb"}, {"segment": "enterprise"}
SLICED_VALUES = [[(SMB, 100.0), (ENT, 1000.0)], [(SMB, 50.0), (ENT, 0.0)],
                 [(SMB, 0.0), (ENT, 100.0)], [(ENT, -200.0)], [(SMB, -30.0)],
                 [(SMB, 120.0), (ENT, 900.0)]]


def _sliced_bars(spec: dict[str, Any], **chosen: str) -> list[tuple[str, float, float, float]]:
    """(step, value, base, top) of each bar vl-convert lays out, with the filters chosen."""
    spec = {**spec, "params": [{**p, "value": chosen.get(p["name"], p["value"])}
                               for p in spec.get("params", [])]}
    out = []
    for item in sorted(scene_items(spec, "rect"), key=lambda b: b["x"]):
        step, *numbers = item["description"].split(" | ")
        out.append((step, *(round(float(n), 6) for n in numbers)))
    return out


def test_a_sliced_bridge_sums_the_rows_kept_and_steps_from_where_the_last_ended() -> None:
    fig = cf.waterfall_chart(SLICED_STEPS, SLICED_VALUES, dims=("segment",),
                                    unit="MRR (USD)")
    _valid(fig.spec)
    assert fig.filters == ("segment",)
    # All: the deltas span 1020..1250 (230 < 0.6 x 1020): the axis is cut at
    # 1020 - 0.35 x 230 = 939.5, where the totals start
    assert _sliced_bars(fig.spec) == ([
        ("Start", 1100, 939.5, 1100), ("New", 50, 1100, 1150), ("Expansion", 100, 1150, 1250),
        ("Contraction", -200, 1250, 1050), ("Churn", -30, 1050, 1020), ("End", 1020, 939.5, 1020)])
    # smb: its own bridge, no expansion or contraction bar; cut at 100 - 0.35 x 50 = 82.5
    assert _sliced_bars(fig.spec, segment="smb") == ([
        ("Start", 100, 82.5, 100), ("New", 50, 100, 150), ("Churn", -30, 150, 120),
        ("End", 120, 82.5, 120)])
    # two zig-zags (the cut totals) and the labels' values, signed for the movements
    assert len([s for s in scene_items(fig.spec, "symbol") if s.get("opacity", 1) > 0]) == 2
    assert [t["text"] for t in scene_items(fig.spec, "text")] == [
        "$1.1k", "+$50", "+$100", "\u2212$200", "\u2212$30", "$1.02k"]


def test_a_sliced_bridge_with_small_totals_keeps_zero() -> None:
    steps = [cf.Step("Start", "total"), cf.Step("New"), cf.Step("Churn"), cf.Step("End", "total")]
    fig = cf.waterfall_chart(steps, [[({}, 10.0)], [({}, 30.0)], [({}, -20.0)],
                                            [({}, 20.0)]], dims=(), unit="u")
    assert _sliced_bars(fig.spec) == ([
        ("Start", 10, 0, 10), ("New", 30, 10, 40), ("Churn", -20, 40, 20), ("End", 20, 0, 20)])
    assert [s for s in scene_items(fig.spec, "symbol") if s.get("opacity", 1) > 0] == []
