"""The GX runner on hand-made mart frames and tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from dagster_project.quality import gx_runner
from dagster_project.quality.suites import load_suite


def saas_frame(months: int = 3) -> pd.DataFrame:
    """A consistent saas_metrics_monthly: one customer a month, 100 of MRR each."""
    rows = []
    for i in range(months):
        start, end = 100.0 * i, 100.0 * (i + 1)
        rows.append({
            "month": dt.date(2025, i + 1, 1), "mrr_start": start, "new_mrr": 100.0,
            "expansion_mrr": 0.0, "reactivation_mrr": 0.0, "contraction_mrr": 0.0,
            "churned_mrr": 0.0, "mrr_end": end, "net_new_mrr": 100.0, "arr_end": 12 * end,
            "customers_start": i, "new_customers": 1, "reactivated_customers": 0,
            "churned_customers": 0, "customers_end": i + 1, "arpa": 100.0,
            "logo_churn_rate": 0.0 if i else None, "customer_retention_rate": 1.0 if i else None,
            "gross_mrr_churn_rate": 0.0 if i else None, "net_mrr_churn_rate": 0.0 if i else None,
            "net_revenue_retention": 1.0 if i else None,
            "gross_revenue_retention": 1.0 if i else None, "quick_ratio": None, "ltv": None,
            "sales_marketing_spend": 50.0, "cac": 50.0, "ltv_to_cac": None,
            "cac_payback_months": 0.625,
        })
    frame = pd.DataFrame(rows)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


SUITE = "marts_saas_metrics_monthly"


def test_quality_runner_passes_a_good_frame() -> None:
    result = gx_runner.validate_frame(saas_frame(), SUITE)
    assert result.passed, result.description
    assert result.worst_severity is None
    assert all(o.success for o in result.outcomes)
    assert result.description.startswith("marts.saas_metrics_monthly: all 5 expectations")


def test_quality_runner_names_failing_expectations_and_severity() -> None:
    bad = saas_frame()
    bad.loc[1, "net_revenue_retention"] = 2.5  # warning: plausible range 0.5..1.5
    bad.loc[2, "cac_payback_months"] = 130.0  # warning: over 120 months
    result = gx_runner.validate_frame(bad, SUITE)
    assert not result.passed
    assert result.worst_severity == "warning"
    failed = {(o.name, o.severity) for o in result.failed}
    assert failed == {
        ("expect_column_values_to_be_between(net_revenue_retention)", "warning"),
        ("expect_column_values_to_be_between(cac_payback_months)", "warning"),
    }
    nrr = next(o for o in result.failed if o.column == "net_revenue_retention")
    assert nrr.unexpected_count == 1 and nrr.unexpected_sample == (2.5,)
    assert "expect_column_values_to_be_between(net_revenue_retention)" in result.description
    assert "\n" not in result.description


def test_quality_runner_reports_a_missing_column_as_critical() -> None:
    result = gx_runner.validate_frame(saas_frame().drop(columns=["arpa"]), SUITE)
    assert result.worst_severity == "critical"
    assert {o.type for o in result.failed} == {"expect_table_columns_to_match_set"}


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("create schema marts")
    yield connection
    connection.close()


def test_quality_runner_table_in_chunks_gives_the_whole_table_verdict(con) -> None:
    frame = saas_frame(12)
    frame.loc[11, "net_revenue_retention"] = 3.0
    frame.loc[4, "net_revenue_retention"] = 0.1
    con.register("frame", frame)
    con.execute("create table marts.saas_metrics_monthly as "
                "select * replace (cast(month as date) as month) from frame")
    whole = gx_runner.validate_table(con, "marts.saas_metrics_monthly", SUITE)
    chunked = gx_runner.validate_table(con, "marts.saas_metrics_monthly", SUITE, chunk_rows=3)
    assert chunked.extra["chunks"] == 4 and whole.extra["chunks"] == 1
    for result in (whole, chunked):
        nrr = next(o for o in result.outcomes if o.column == "net_revenue_retention")
        assert not nrr.success and nrr.unexpected_count == 2
        assert sorted(nrr.unexpected_sample) == [0.1, 3.0]
    assert [o.success for o in whole.outcomes] == [o.success for o in chunked.outcomes]


def test_quality_runner_missing_table_passes_with_a_note(con) -> None:
    result = gx_runner.validate_table(con, "marts.nps_monthly", SUITE)
    assert result.passed and result.outcomes == ()
    assert result.description == (
        "marts.nps_monthly: table not built yet (no data for it); nothing to check")


def test_quality_runner_reads_only_the_columns_it_needs(con) -> None:
    con.execute("create table marts.nps_monthly as select date '2025-01-01' as month, "
                "10 as responses, 5 as promoters, 3 as passives, 2 as detractors, "
                "30.0 as nps, 'x' as extra_column")
    result = gx_runner.validate_table(con, "marts.nps_monthly", load_suite("marts_nps_monthly"))
    assert result.passed, result.description
    assert "extra_column" not in result.extra["columns_read"]


def test_quality_runner_refuses_a_suite_reading_a_personal_column(con) -> None:
    con.execute("create table marts.people as select 'a@b.c' as email")
    suite = {"name": "s", "meta": {"never_read": ["email"]}, "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}}]}
    with pytest.raises(ValueError, match="personal column"):
        gx_runner.validate_table(con, "marts.people", suite)
