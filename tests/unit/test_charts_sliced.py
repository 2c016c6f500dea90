"""Charts the report's filters slice (charts.sliced_chart): the browser sums the rows the
filters keep. Checked on the bars vl-convert lays out (its scenegraph) with the filters at
"All" (what the static SVG shows) and with a segment chosen (the param's value set, as the
page's script sets the signal), against sums worked out by hand."""

import datetime as dt
from typing import Any

import pytest

from dagster_project.reports import charts
from tests.vega_support import scene_items

MONTHS = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
A = {"segment": "smb", "region": "emea", "channel": "organic"}
B = {"segment": "enterprise", "region": "na", "channel": "partner"}
# January: smb +30 new, +10 expansion, -8 contraction; enterprise +20 new, +5 reactivation,
# -7 churned. Both: +50 +10 +5 -8 -7: 0 -> 50 -> 60 -> 65 -> 57 -> 50; smb alone:
# 0 -> 30 -> 40 -> 32. February: enterprise churns 20 (both: 0 -> -20; smb: nothing).
MOVES = {
    "New": [(0, A, 30.0), (0, B, 20.0)],
    "Expansion": [(0, A, 10.0)],
    "Reactivation": [(0, B, 5.0), (1, B, 0.0)],
    "Contraction": [(0, A, -8.0)],
    "Churned": [(0, B, -7.0), (1, B, -20.0)],
}


def _chart(**kw: Any) -> charts.Figure:
    series = [charts.SlicedSeries(name, charts.MOVEMENT_COLOURS[key], MOVES[name])
              for key, name in charts.MOVEMENTS]
    return charts.sliced_chart(MONTHS, series, dims=charts.FILTERS, kind="money",
                               unit="Movement (USD)", mode="waterfall", net="Net new MRR",
                               width=400, height=240, **kw)


def _choose(spec: dict[str, Any], **chosen: str) -> dict[str, Any]:
    """The spec with its filter params set, as the page's script sets the signals."""
    return {**spec, "params": [{**p, "value": chosen.get(p["name"], p["value"])}
                               for p in spec["params"]]}


def _rects(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The laid-out rect items (bars and net ticks), each described "month | series | value"."""
    return scene_items(spec, "rect")


def _bars(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The laid-out bars (not the net ticks) by month, left to right."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in _rects(spec):
        month, series, _ = item["description"].split(" | ")
        if series != "Net new MRR":
            out.setdefault(month, []).append(item)
    for items in out.values():
        items.sort(key=lambda r: r["x"])
    return out


def _steps(items: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(r["description"].split(" | ")[1], float(r["description"].split(" | ")[2]))
            for r in items]


def test_all_segments_the_waterfall_steps_through_the_sums() -> None:
    bars = _bars(_chart().spec)
    jan = bars["Jan 24"]
    assert _steps(jan) == [("New", 50), ("Expansion", 10), ("Reactivation", 5),
                           ("Contraction", -8), ("Churned", -7)]
    new, expansion, reactivation, contraction, churned = jan
    px = new["height"] / 50
    assert [r["height"] / px for r in jan] == pytest.approx([50, 10, 5, 8, 7])
    # each step starts where the one before ended (pixels grow downward)
    assert expansion["y"] + expansion["height"] == pytest.approx(new["y"])
    assert reactivation["y"] + reactivation["height"] == pytest.approx(expansion["y"])
    assert contraction["y"] == pytest.approx(reactivation["y"])
    assert churned["y"] == pytest.approx(contraction["y"] + contraction["height"])
    # February: only enterprise's churn, from zero down to -20 (the zero is dropped)
    assert _steps(bars["Feb 24"]) == [("Churned", -20)]
    assert bars["Feb 24"][0]["height"] / px == pytest.approx(20)


def test_a_chosen_segment_shows_that_segments_numbers() -> None:
    spec = _choose(_chart().spec, segment="smb")
    bars = _bars(spec)
    assert _steps(bars["Jan 24"]) == [("New", 30), ("Expansion", 10), ("Contraction", -8)]
    assert "Feb 24" not in bars  # smb has no movement in February
    # enterprise and a region that only enterprise has: the same numbers
    for chosen in ({"segment": "enterprise"}, {"region": "na"}):
        assert _steps(_bars(_choose(_chart().spec, **chosen))["Jan 24"]) == [
            ("New", 20), ("Reactivation", 5), ("Churned", -7)]
    # two filters that no row meets: nothing drawn
    assert _rects(_choose(_chart().spec, segment="smb", region="na")) == []


def test_the_net_tick_is_the_sum_of_the_movements() -> None:
    def ticks(spec: dict[str, Any]) -> list[float]:
        return sorted(float(r["description"].split(" | ")[2])
                      for r in _rects(spec) if "Net new MRR" in r["description"])

    assert ticks(_chart().spec) == [-20, 50]
    assert ticks(_choose(_chart().spec, segment="smb")) == [32]


def test_rows_hold_every_input_and_the_spec_is_valid() -> None:
    fig = _chart(faded=frozenset({1}))
    assert charts.schema_errors(fig.spec) == []
    assert fig.filters == charts.FILTERS
    rows = fig.spec["layer"][0]["data"]["values"]
    assert sorted((r["x"], r["series"], r["segment"], r["value"]) for r in rows) == sorted(
        (charts.category_text(MONTHS[i]), name, dims["segment"], value)
        for name, values in MOVES.items() for i, dims, value in values if value != 0)
    assert all(r.get("faded") is True for r in rows if r["x"] == "Feb 24")
    assert '<svg' in fig.html() and 'data-filters="segment region channel"' in fig.html()


def test_a_line_sums_the_chosen_rows_month_by_month() -> None:
    fig = charts.sliced_chart(
        MONTHS, [charts.SlicedSeries("Active customers", charts.PRIMARY,
                                     [(0, A, 3), (0, B, 4), (1, A, 0), (1, B, 5)])],
        dims=charts.FILTERS, kind="count", unit="Customers", mode="line")
    import vl_convert

    scene = str(vl_convert.vegalite_to_scenegraph(fig.spec, vl_version=charts.VL_VERSION))
    assert "Jan 24 | Active customers | 7" in scene and "Feb 24 | Active customers | 5" in scene
    smb = str(vl_convert.vegalite_to_scenegraph(_choose(fig.spec, segment="smb"),
                                                vl_version=charts.VL_VERSION))
    assert "Jan 24 | Active customers | 3" in smb and "Feb 24 | Active customers | 0" in smb
