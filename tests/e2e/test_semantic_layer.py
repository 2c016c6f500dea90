"""The semantic layer over the demo build: one definition per KPI, equal to what the
scorecard and the marts publish, month by month and quarter by quarter."""

from __future__ import annotations

import math

import duckdb
import pytest

from dagster_project.semantic import SemanticLayer

# The metrics a quarter cannot be made of months for: the scorecard computes them apart.
MONTHLY_ONLY = {"customer_retention_rate", "net_revenue_retention", "gross_revenue_retention",
                "lead_velocity_rate_pct"}


@pytest.fixture(scope="module")
def layer(built):
    settings, _ = built
    # Published with the marts: the definitions the served numbers were built with.
    assert settings.semantic_manifest_path.exists()
    with SemanticLayer(settings.serving_path, settings.semantic_manifest_path) as sl:
        yield sl


@pytest.fixture(scope="module")
def warehouse(built):
    settings, _ = built
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield con
    con.close()


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def test_every_registered_kpi_is_a_metric_equal_to_the_scorecards_actuals(layer, warehouse) -> None:
    registry = [r[0] for r in warehouse.execute(
        "select kpi from intermediate.int_kpi_registry order by kpi").fetchall()]
    assert len(registry) >= 38
    assert set(registry) <= set(layer.metric_names())
    assert layer.finest_grain_only() & set(registry) == MONTHLY_ONLY
    compared = 0
    for grain in ("month", "quarter"):
        for kpi in registry:
            if grain != "month" and kpi in MONTHLY_ONLY:
                continue
            expected = dict(warehouse.execute(
                "select period_start, actual from marts.kpi_actuals "
                "where kpi = ? and grain = ?", [kpi, grain]).fetchall())
            got = {row[0]: row[1] for row in layer.query([kpi], grain=grain).rows}
            assert expected, (kpi, grain)
            differ = {p: (a, got.get(p)) for p, a in expected.items() if not _same(a, got.get(p))}
            assert not differ, (kpi, grain, dict(list(differ.items())[:3]))
            assert set(got) <= set(expected), (kpi, grain, sorted(set(got) - set(expected))[:3])
            compared += len(expected)
    assert compared > 400


# Marts whose columns publish a metric: mart -> (its period column, {metric: column}).
METRIC_COLUMNS = {
    "saas_metrics_monthly": ("month", {"mrr": "mrr_end", "churned_mrr": "churned_mrr",
                                       "net_revenue_retention": "net_revenue_retention",
                                       "cac_new_business": "cac_new_business"}),
    "product_usage_daily": ("date", {"wau": "wau"}),
    "activation_monthly": ("signup_month", {"signups": "users"}),
    "nps_monthly": ("month", {"nps": "nps"}),
    "csat_monthly": ("month", {"csat": "csat"}),
    "leads_monthly": ("month", {"leads": "leads",
                                "lead_velocity_rate_pct": "lead_velocity_rate_pct"}),
    "acv_monthly": ("month", {"acv": "acv"}),
    "bookings_vs_revenue_monthly": ("month", {"new_business_bookings": "new_business_bookings_value"}),
}


@pytest.mark.parametrize(("metric", "mart", "column", "period"), [
    pytest.param(metric, mart, column, period, id=metric)
    for mart, (period, columns) in METRIC_COLUMNS.items()
    for metric, column in columns.items()
])
def test_a_metric_by_its_marts_grain_equals_the_published_column(
        layer, serving, metric, mart, column, period) -> None:
    expected = dict(serving.execute(f"select {period}, {column} from marts.{mart}").fetchall())
    grain = "day" if period == "date" else "month"
    got = {row[0]: row[1] for row in layer.query([metric], grain=grain).rows}
    differ = {p: (a, got.get(p)) for p, a in expected.items()
              if not _same(a, got.get(p)) and not (a == 0 and got.get(p) is None)}
    assert expected and not differ, dict(list(differ.items())[:3])


def test_funnel_conversion_is_the_last_steps_overall_rate(layer, serving) -> None:
    expected = dict(serving.execute("select month, overall_conversion_rate from marts.funnel_monthly "
                                    "where is_last_step").fetchall())
    got = {row[0]: row[1] for row in layer.query(["funnel_conversion_rate"]).rows}
    assert expected and all(_same(a, got.get(m)) for m, a in expected.items()), (expected, got)


def test_slices_recombine_to_the_unsliced_value(layer) -> None:
    total = {r[0]: r[1:] for r in layer.query(["mrr", "new_customers", "nps", "promoters",
                                                "detractors", "nps_responses"]).rows}
    for dimension in ("segment", "region", "acquisition_channel"):
        parts: dict = {}
        for month, _, mrr, new in layer.query(["mrr", "new_customers"], by=[dimension]).rows:
            s = parts.setdefault(month, [0.0, 0])
            s[0] += mrr or 0
            s[1] += new or 0
        assert all(_same(parts[m][0], total[m][0]) and parts[m][1] == total[m][1]
                   for m in total), dimension
    by_segment: dict = {}
    for month, _, promoters, detractors, responses in layer.query(
            ["promoters", "detractors", "nps_responses"], by=["segment"]).rows:
        s = by_segment.setdefault(month, [0, 0, 0])
        s[0], s[1], s[2] = s[0] + promoters, s[1] + detractors, s[2] + responses
    for month, (_, _, nps, *_rest) in total.items():
        if month in by_segment:
            p, d, n = by_segment[month]
            assert _same(nps, 100 * (p - d) / n if n else None), month
    cac = {r[0]: r[1:] for r in layer.query(["cac", "sales_marketing_spend",
                                              "acquired_customers"]).rows}
    channel: dict = {}
    for month, _, spend, acquired in layer.query(["sales_marketing_spend", "acquired_customers"],
                                                 by=["channel"]).rows:
        s = channel.setdefault(month, [0.0, 0])
        s[0] += spend or 0
        s[1] += acquired or 0
    for month, (rate, _, _) in cac.items():
        spend, acquired = channel[month]
        assert _same(rate, spend / acquired if acquired else None), month


def test_mrr_by_plan_is_the_marts_rows_and_its_tiers_add_up_to_mrr(layer, serving) -> None:
    expected = {(m, plan): (mrr, subs) for m, plan, mrr, subs in serving.execute(
        "select month, plan_id, mrr_end, active_subscriptions from marts.mrr_by_plan_monthly"
    ).fetchall()}
    got = {(m, plan): (mrr, subs) for m, plan, mrr, subs in layer.query(
        ["mrr_by_plan", "active_subscriptions"], by=["plan_id"]).rows}
    assert expected and set(got) <= set(expected)
    assert all(_same(got[k][0], v[0]) and got[k][1] == v[1] for k, v in expected.items()
               if k in got)
    assert {k for k, v in expected.items() if v[0]} <= set(got)
    mrr = {m: value for m, value in layer.query(["mrr"]).rows}
    by_tier: dict = {}
    for month, _, value in layer.query(["mrr_by_plan"], by=["tier"]).rows:
        by_tier[month] = by_tier.get(month, 0.0) + (value or 0)
    assert set(by_tier) >= {m for m, value in mrr.items() if value}
    assert all(_same(total, mrr[m]) for m, total in by_tier.items())


def test_query_command_prints_a_table_and_csv(built, capsys) -> None:
    from dagster_project.cli import main

    settings, _ = built
    assert main(["query", "mrr", "--by", "segment", "--grain", "quarter",
                 "--serving", str(settings.serving_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["quarter", "segment", "mrr"]
    assert main(["query", "mrr,customers", "--format", "csv", "--limit", "2",
                 "--serving", str(settings.serving_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "month,mrr,customers" and len(lines) == 3
    assert main(["query", "nps", "--by", "channel",
                 "--serving", str(settings.serving_path)]) == 2
    assert "channel: not a dimension of nps; it can be grouped by: segment" in (
        capsys.readouterr().err)
