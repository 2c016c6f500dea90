"""Build-level behaviour of the scorecard and sales marts: an empty warehouse builds (every
source missing is not an error; the demo targets become no_data rows), and a target naming
a KPI that no mart provides fails the build, naming the KPI and its seed row."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from dagster_project.settings import SEEDS_DIR
from tests.dbt_harness import build_fixture_warehouse, build_marts, load_seed, query, run_dbt

MODELS = (
    "kpi_scorecard revenue_mix_monthly revenue_mix_by_region_monthly revenue_mix_by_product_monthly "
    "revenue_by_segment_monthly customer_tiers customer_tiers_summary bookings_vs_revenue_monthly "
    "sales_rep_performance_quarterly sales_rep_mix customer_lifetime_value_by_segment"
)
SELECT = " ".join(f"+{m}" for m in MODELS.split())

UNKNOWN_TARGETS = """
kpi,grain,period_start,target,direction,tolerance
nps,month,2024-01-01,30,higher_is_better,0.2
mrr_growht_rate,month,2024-01-01,0.05,higher_is_better,0.2
"""


@pytest.fixture(scope="module")
def empty_wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marts(tmp_path_factory, "empty", {},
                       ["build", "--indirect-selection", "cautious", "--select", SELECT])


@pytest.fixture(scope="module")
def unknown_kpi_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("unknown_kpi") / "warehouse.duckdb"
    build_fixture_warehouse(path, {})
    load_seed(path, "kpi_targets", UNKNOWN_TARGETS)
    with pytest.raises(RuntimeError) as failure:
        run_dbt(path, ["build", "--indirect-selection", "cautious", "--select", "+kpi_scorecard",
                       "--exclude", "kpi_targets"])
    return path, str(failure.value)


def test_empty_warehouse_builds_every_sales_and_scorecard_mart(empty_wh: Path) -> None:
    for model in MODELS.split():
        assert query(empty_wh, f"select count(*) >= 0 from marts.{model}") == [(True,)]
    assert query(empty_wh, "select count(*) from marts.revenue_mix_monthly") == [(0,)]
    # three tiers, all empty
    assert query(empty_wh, """select tier, customers, revenue, share_of_customers
                              from marts.customer_tiers_summary order by tier""") == [
        ("A", 0, 0.0, None), ("B", 0, 0.0, None), ("C", 0, 0.0, None)
    ]


def test_empty_warehouse_scorecard_has_one_no_data_row_per_demo_target(empty_wh: Path) -> None:
    with open(SEEDS_DIR / "kpi_targets.csv", newline="") as f:
        targets = list(csv.DictReader(f))
    assert query(empty_wh, "select count(*), count(*) filter (where status = 'no_data') from marts.kpi_scorecard") == [
        (len(targets), len(targets))
    ]


def test_empty_warehouse_buying_trend_is_empty(empty_wh: Path) -> None:
    from dagster_project.transform.buying_trend import build_buying_trend

    con = duckdb.connect(str(empty_wh))
    try:
        assert build_buying_trend(con, alpha=0.5, horizon=3) == 0
        columns = [r[0] for r in con.execute("describe marts.buying_trend_monthly").fetchall()]
    finally:
        con.close()
    assert columns == ["segment", "month", "revenue", "moving_avg_3m", "smoothed", "is_forecast",
                       "forecast", "forecast_low", "forecast_high"]


def test_unknown_kpi_fails_the_build(unknown_kpi_build: tuple[Path, str]) -> None:
    _, message = unknown_kpi_build
    assert "assert_kpi_targets_name_registered_kpis" in message


def test_unknown_kpi_failure_names_the_kpi_and_seed_row(unknown_kpi_build: tuple[Path, str]) -> None:
    path, _ = unknown_kpi_build
    # target_row orders the targets by kpi, grain, period_start: mrr_growht_rate is row 1.
    assert query(path, """select kpi, grain, period_start::varchar, target_row, problem
                          from dbt_test__audit.assert_kpi_targets_name_registered_kpis""") == [
        ("mrr_growht_rate", "month", "2024-01-01", 1,
         ("unknown KPI mrr_growht_rate in seeds/kpi_targets.csv (target_row 1, grain month, "
         "period_start 2024-01-01): no mart provides it")),
    ]


def test_unknown_kpi_leaves_no_scorecard(unknown_kpi_build: tuple[Path, str]) -> None:
    path, _ = unknown_kpi_build
    assert query(path, """select count(*) from information_schema.tables
                          where table_schema = 'marts' and table_name = 'kpi_scorecard'""") == [(0,)]
