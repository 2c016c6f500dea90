"""Rates the page's filters slice: the semantic layer's ratio and derived metrics turned into
formulas over sums of marts.mrr_movements_monthly's columns (report_data.load_rate_formulas),
and the lines the browser computes from them for the rows a filter keeps
(charts.sliced_rate_chart), checked on the marks vl-convert lays out, by hand."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from dagster_project.reports import charts
from dagster_project.reports.report_data import load_rate_formulas
from tests.vega_support import scene_items


def _metric(name: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "type_params": params, "filter": None}


def _ref(name: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "filter": None, "alias": None, "offset_window": None,
            "offset_to_grain": None, **more}


MANIFEST = {
    "semantic_models": [
        {"name": "revenue_bridge", "measures": [
            # a stock at the month's start: at the monthly grain, the month's own sum
            {"name": "customers_start", "agg": "sum",
             "non_additive_dimension": {"name": "bridge_month", "window_choice": "min"}},
            {"name": "churned_customers", "agg": "sum"},
            {"name": "mrr_start", "agg": "sum"}, {"name": "churned_mrr", "agg": "sum"},
            {"name": "expansion_mrr", "agg": "sum"}, {"name": "mrr_end", "agg": "max"}]},
        {"name": "usage", "measures": [{"name": "dau", "agg": "sum"}]},
    ],
    "metrics": [
        _metric("customers_at_start", "simple", measure={"name": "customers_start"}),
        _metric("churned_customers", "simple", measure={"name": "churned_customers"}),
        _metric("mrr_at_start", "simple", measure={"name": "mrr_start"}),
        _metric("churned_mrr", "simple", measure={"name": "churned_mrr"}),
        _metric("expansion_mrr", "simple", measure={"name": "expansion_mrr"}),
        _metric("mrr_peak", "simple", measure={"name": "mrr_end"}),
        _metric("dau", "simple", measure={"name": "dau"}),
        _metric("logo_churn_rate", "ratio", numerator=_ref("churned_customers"),
                denominator=_ref("customers_at_start")),
        _metric("net_churn", "derived", metrics=[_ref("churned_mrr"), _ref("expansion_mrr"),
                                                 _ref("mrr_at_start")],
                expr="(churned_mrr - expansion_mrr) / nullif(mrr_at_start, 0)"),
        # not sliceable: a filtered input, an offset, a max, another model, a function
        _metric("filtered", "ratio", numerator=_ref("churned_customers", filter={"x": 1}),
                denominator=_ref("customers_at_start")),
        _metric("growth", "derived", metrics=[_ref("mrr_at_start", offset_window="1 month",
                                                   alias="before"), _ref("mrr_at_start")],
                expr="mrr_at_start / nullif(before, 0) - 1"),
        _metric("peak_share", "ratio", numerator=_ref("mrr_peak"), denominator=_ref("mrr_at_start")),
        _metric("dau_per_customer", "ratio", numerator=_ref("dau"),
                denominator=_ref("customers_at_start")),
        _metric("rounded", "derived", metrics=[_ref("churned_mrr")], expr="round(churned_mrr)"),
    ],
}


def test_formulas_are_the_semantic_layers_definitions_over_sums(tmp_path: Path) -> None:
    path = tmp_path / "semantic_manifest.json"
    path.write_text(json.dumps(MANIFEST))
    formulas = load_rate_formulas(path)
    assert sorted(formulas) == ["logo_churn_rate", "net_churn"]
    churn = formulas["logo_churn_rate"]
    assert churn.columns == ("churned_customers", "customers_start")
    assert churn.expr == ("abs(datum.customers_start) < 1e-6 ? NaN : "
                          "datum.churned_customers / datum.customers_start")
    net = formulas["net_churn"]
    assert net.columns == ("churned_mrr", "expansion_mrr", "mrr_start")
    assert net.expr == ("(datum.churned_mrr - datum.expansion_mrr) / "
                        "(abs(datum.mrr_start) < 1e-6 ? NaN : (datum.mrr_start))")
    assert load_rate_formulas(None) == {} and load_rate_formulas(tmp_path / "none.json") == {}
    path.write_text("{not json")
    assert load_rate_formulas(path) == {}


MONTHS = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
SMB = {"segment": "smb", "region": "emea", "channel": "organic"}
ENT = {"segment": "enterprise", "region": "na", "channel": "partner"}
# January: smb loses 1 of 10 customers, enterprise 3 of 20: all 4 of 30. February: smb has
# no customers at the start (no rate), enterprise loses 2 of 17: all 2 of 17.
ROWS = [
    (0, SMB, {"churned_customers": 1, "customers_start": 10}),
    (0, ENT, {"churned_customers": 3, "customers_start": 20}),
    (1, SMB, {"churned_customers": 0, "customers_start": 0}),
    (1, ENT, {"churned_customers": 2, "customers_start": 17}),
]


def _chart() -> charts.Figure:
    rate = charts.SlicedRate("Logo churn rate", charts.BAD,
                             ("churned_customers", "customers_start"),
                             "abs(datum.customers_start) < 1e-6 ? NaN : "
                             "datum.churned_customers / datum.customers_start")
    return charts.sliced_rate_chart(MONTHS, [rate], ROWS, dims=charts.FILTERS, kind="fraction",
                                    unit="Rate", refs=[charts.Ref(0.05, "5%")], label="churn")


def _points(spec: dict[str, Any], **chosen: str) -> dict[str, float]:
    spec = {**spec, "params": [{**p, "value": chosen.get(p["name"], p["value"])}
                               for p in spec["params"]]}
    out = {}
    for item in scene_items(spec, "symbol"):
        if " | " in item.get("description", ""):
            month, _, value = item["description"].split(" | ")
            out[month] = float(value)
    return out


def test_a_rate_per_segment_is_that_segments_own_rate() -> None:
    fig = _chart()
    assert fig.ranged and fig.filters == charts.FILTERS
    assert charts.schema_errors(fig.spec) == []
    assert _points(fig.spec) == pytest.approx({"Jan 24": 4 / 30, "Feb 24": 2 / 17})
    assert _points(fig.spec, segment="smb") == pytest.approx({"Jan 24": 0.1})  # Feb: no rate
    assert _points(fig.spec, segment="enterprise") == pytest.approx(
        {"Jan 24": 0.15, "Feb 24": 2 / 17})
    assert _points(fig.spec, region="emea", channel="partner") == {}
    assert _points(fig.spec, range_from="2024-02") == pytest.approx({"Feb 24": 2 / 17})
    # the reference line stays whatever is chosen
    assert len(scene_items(fig.spec, "rule")) == 1


def test_a_rounding_residue_is_no_denominator() -> None:
    """The browser takes the rows a filter drops away from its sums: a denominator that is
    zero can come out as 1e-12, and a rate over it is no rate, not a huge one or 0."""
    rows = [(0, SMB, {"churned_customers": 1, "customers_start": 4}),
            (1, SMB, {"churned_customers": 0, "customers_start": 3e-12})]
    rate = charts.SlicedRate("Logo churn rate", charts.BAD,
                             ("churned_customers", "customers_start"),
                             load_rate_formulas_expr())
    fig = charts.sliced_rate_chart(MONTHS, [rate], rows, dims=charts.FILTERS,
                                   kind="fraction", unit="Rate", label="churn")
    assert _points(fig.spec) == pytest.approx({"Jan 24": 0.25})


def load_rate_formulas_expr() -> str:
    """logo_churn_rate's formula as load_rate_formulas writes it for MANIFEST."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.json"
        path.write_text(json.dumps(MANIFEST))
        return load_rate_formulas(path)["logo_churn_rate"].expr


def test_a_banded_rate_is_bars_in_its_bands_colour_cut_at_the_cap() -> None:
    """Quick-ratio style: 5 (good), 3 (warning), 0.1 (bad), 20 (cut at 10, "↑ 20" inside);
    with the segment that has only April chosen, April's own 50/10 = 5 is good."""
    months = [dt.date(2024, m, 1) for m in (1, 2, 3, 4)]
    rows = [(0, SMB, {"gains": 50, "losses": 10}), (1, SMB, {"gains": 30, "losses": 10}),
            (2, SMB, {"gains": 1, "losses": 10}), (3, SMB, {"gains": 150, "losses": 0}),
            (3, ENT, {"gains": 50, "losses": 10})]
    rate = charts.SlicedRate("Quick ratio", charts.GOOD, ("gains", "losses"),
                             "abs(datum.losses) < 1e-6 ? NaN : datum.gains / datum.losses")
    fig = charts.sliced_rate_chart(
        months, [rate], rows, dims=charts.FILTERS, kind="ratio", unit="Quick ratio",
        bands=[(4.0, charts.GOOD, "4x or more"), (2.0, charts.WARN, "2-4x"),
               (None, charts.BAD, "below 2x")], cap=10.0, label="quick ratio")
    assert charts.schema_errors(fig.spec) == []

    def bars(spec: dict[str, Any]) -> list[tuple[str, float, str, float]]:
        return [(item["description"].split(" | ")[0], float(item["description"].split(" | ")[2]),
                 item["fill"], item["height"]) for item in scene_items(spec, "rect")]

    shown = bars(fig.spec)
    assert [(m, v, c) for m, v, c, _ in shown] == [
        ("Jan 24", 5.0, charts.GOOD), ("Feb 24", 3.0, charts.WARN), ("Mar 24", 0.1, charts.BAD),
        ("Apr 24", 20.0, charts.GOOD)]
    px = shown[0][3] / 5.0
    assert shown[3][3] / px == pytest.approx(10.0)  # cut at the cap
    assert [t["text"] for t in scene_items(fig.spec, "text")] == ["\u2191 20"]
    only = {**fig.spec, "params": [{**p, "value": "enterprise" if p["name"] == "segment"
                                    else p["value"]} for p in fig.spec["params"]]}
    assert [(m, v, c) for m, v, c, _ in bars(only)] == [("Apr 24", 5.0, charts.GOOD)]
