"""The page's month range (charts.RANGE): every monthly chart carries each row's month and
keeps the months between the two signals the page sets; unbounded (the static SVG) it
shows every month. Checked on the marks vl-convert lays out with the signals set, as the
page's script sets them, against the months and values by hand; and the brush strip the
range is chosen on."""

import datetime as dt
from typing import Any

import pytest

from dagster_project.reports import charts
from tests.vega_support import scene_items, spec_rows

MONTHS = [dt.date(2024, m, 1) for m in (1, 2, 3, 4)]
SEGMENT = {"segment": "smb", "region": "emea", "channel": "organic"}


def _set(spec: dict[str, Any], **values: str) -> dict[str, Any]:
    """The spec with its params set, as the page's script sets the signals."""
    return {**spec, "params": [{**p, "value": values.get(p["name"], p["value"])}
                               for p in spec["params"]]}


def _descriptions(spec: dict[str, Any], marktype: str) -> list[str]:
    return [item["description"] for item in scene_items(spec, marktype)]


def test_a_sliced_chart_shows_the_months_of_the_range() -> None:
    fig = charts.sliced_chart(
        MONTHS, [charts.SlicedSeries("MRR", charts.PRIMARY,
                                     [(i, SEGMENT, 100.0 * (i + 1)) for i in range(4)])],
        dims=charts.FILTERS, kind="money", unit="MRR", label="MRR")
    assert fig.ranged and 'data-range="months"' in fig.html()
    assert {r["m"] for r in spec_rows(fig.spec)} == {"2024-01", "2024-02", "2024-03", "2024-04"}
    assert _descriptions(fig.spec, "rect") == [
        "Jan 24 | MRR | 100", "Feb 24 | MRR | 200", "Mar 24 | MRR | 300", "Apr 24 | MRR | 400"]
    shown = _set(fig.spec, range_from="2024-02", range_to="2024-03")
    assert _descriptions(shown, "rect") == ["Feb 24 | MRR | 200", "Mar 24 | MRR | 300"]
    # one bound only, and a range with a segment chosen
    assert _descriptions(_set(fig.spec, range_from="2024-04"), "rect") == ["Apr 24 | MRR | 400"]
    assert _descriptions(_set(fig.spec, range_to="2024-01", segment="smb"), "rect") == [
        "Jan 24 | MRR | 100"]
    assert _descriptions(_set(fig.spec, range_to="2024-01", segment="enterprise"), "rect") == []


def test_the_axis_of_a_monthly_chart_keeps_only_the_months_of_the_range() -> None:
    fig = charts.xy_chart(charts.XYSpec(
        MONTHS, "fraction", "Rate", "Month", label="rates",
        lines=[charts.Series("Churn", [0.01, 0.02, None, 0.04], charts.BAD, dots=True)],
        bars=[charts.Series("Bars", [1.0, 2.0, 3.0, 4.0], charts.PRIMARY)]))
    assert fig.ranged
    def ticks(spec: dict[str, Any]) -> list[str]:
        return [item["text"] for item in scene_items(spec, "text", "axis-label")
                if not str(item["text"]).endswith("%")]

    assert ticks(fig.spec) == ["Jan 24", "Feb 24", "Mar 24", "Apr 24"]
    shown = _set(fig.spec, range_from="2024-03", range_to="2024-04")
    assert ticks(shown) == ["Mar 24", "Apr 24"]
    assert len(scene_items(shown, "rect")) == 2  # the bars of March and April
    tips = [item["description"] for item in scene_items(shown, "symbol")
            if "tip: " in item.get("description", "")]
    assert tips == ["Month: Apr 24; Rate: 0.04; tip: Apr 24 · Churn: 4.0%"]  # March has none


def test_charts_of_other_categories_and_daily_charts() -> None:
    quarters = charts.xy_chart(charts.XYSpec(["Q1", "Q2"], "count", "n", "Quarter",
                                             bars=[charts.Series("", [1, 2], charts.PRIMARY)]))
    assert not quarters.ranged and "range_from" not in str(quarters.spec)
    days = [dt.date(2024, 1, 30) + dt.timedelta(days=k) for k in range(4)]  # Jan 30 - Feb 2
    daily = charts.xy_chart(charts.XYSpec(days, "count", "Users", "Day", continuous=True,
                                          lines=[charts.Series("DAU", [1, 2, 3, 4], charts.PRIMARY)]))
    assert daily.ranged
    assert [r["m"] for r in spec_rows(daily.spec) if "m" in r] == [
        "2024-01", "2024-01", "2024-02", "2024-02"]
    line = scene_items(_set(daily.spec, range_from="2024-02"), "line")
    assert len(line) == 2  # February's two days


def test_the_range_strip_has_a_brush_over_time_and_every_month() -> None:
    fig = charts.range_overview(MONTHS, [1.0, 2.0, None, 4.0])
    assert charts.schema_errors(fig.spec) == []
    assert not fig.ranged and not fig.static
    params = [p for layer in fig.spec["layer"] for p in layer.get("params", [])]
    params += fig.spec.get("params", [])
    assert [(p["name"], p["select"]["type"], p["select"]["encodings"]) for p in params] == [
        ("brush", "interval", ["x"])]
    assert [(r["t"], r["m"]) for r in spec_rows(fig.spec)] == [
        ("2024-01-01", "2024-01"), ("2024-02-01", "2024-02"), ("2024-04-01", "2024-04")]
    assert fig.svg().startswith("<svg")


@pytest.mark.parametrize("bound", ["range_from", "range_to"])
def test_every_ranged_spec_validates_with_a_bound_set(bound: str) -> None:
    fig = charts.sliced_chart(
        MONTHS, [charts.SlicedSeries("MRR", charts.PRIMARY, [(0, SEGMENT, 1.0)])],
        dims=charts.FILTERS, kind="money", unit="MRR", mode="line")
    assert charts.schema_errors(_set(fig.spec, **{bound: "2024-02"})) == []
