"""SQL invariants of the marts on small hand-made DuckDB tables."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.quality.invariants import INVARIANTS, invariants_for, run_invariant

BRIDGE = ("month, mrr_start, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, "
          "churned_mrr, mrr_end, net_new_mrr, arr_end, customers_start, new_customers, "
          "reactivated_customers, churned_customers, customers_end")

# month, start, new, expansion, reactivation, contraction, churned, end, customers s/n/r/c/e
GOOD_MONTHS = [
    ("2025-01-01", 0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 100.0, 0, 2, 0, 0, 2),
    ("2025-02-01", 100.0, 20.1, 10.2, 0.0, 0.1, 30.0, 100.2, 2, 1, 0, 1, 2),
    ("2025-03-01", 100.2, 0.0, 0.0, 30.0, 0.0, 0.0, 130.2, 2, 0, 1, 0, 3),
]


def _saas_rows(months: list[tuple]) -> str:
    rows = []
    for m, s, n, e, r, c, ch, end, cs, cn, cr, cc, ce in months:
        rows.append(f"(date '{m}', {s}, {n}, {e}, {r}, {c}, {ch}, {end}, {end} - {s}, "
                    f"12 * {end}, {cs}, {cn}, {cr}, {cc}, {ce})")
    return ", ".join(rows)


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for schema in ("marts", "intermediate", "staging"):
        connection.execute(f"create schema {schema}")
    connection.execute("create table intermediate.int_as_of_date as "
                       "select date '2025-03-20' as as_of_date")
    connection.execute("create table staging.stg_billing__subscription_events as "
                       "select date '2025-01-07' as effective_date")
    yield connection
    connection.close()


def saas(con: duckdb.DuckDBPyConnection, months: list[tuple]) -> None:
    con.execute(f"create or replace table marts.saas_metrics_monthly as "
                f"select * from (values {_saas_rows(months)}) as t({BRIDGE})")


def run(con: duckdb.DuckDBPyConnection, table: str, name: str):
    invariant = next(i for i in invariants_for(f"marts.{table}") if i.name == name)
    return run_invariant(con, invariant)


def test_quality_invariants_hold_on_a_consistent_mart(con) -> None:
    saas(con, GOOD_MONTHS)  # 0.1 + 0.2 style float noise must not count as a cent
    for invariant in invariants_for("marts.saas_metrics_monthly"):
        result = run_invariant(con, invariant)
        assert result.passed, result.description
        assert result.description.endswith("holds on 3 rows")


def test_quality_bridge_off_by_one_cent_is_found(con) -> None:
    months = [list(m) for m in GOOD_MONTHS]
    months[1][7] = 100.21  # mrr_end one cent above start + new + exp + react - contr - churn
    saas(con, [tuple(m) for m in months])
    result = run(con, "saas_metrics_monthly", "bridge_reconciles")
    assert not result.passed and result.failing_rows == 1
    row = dict(zip(result.columns, result.sample[0], strict=True))
    assert row["month"] == "2025-02-01"
    assert row["problem"].startswith("mrr_end <> mrr_start + new")
    assert abs(row["mrr_gap"] - 0.01) < 1e-9
    assert "bridge_reconciles broken on 1 row(s), e.g. month=2025-02-01" in result.description


def test_quality_gap_in_months_is_found(con) -> None:
    saas(con, [GOOD_MONTHS[0], GOOD_MONTHS[2]])
    result = run(con, "saas_metrics_monthly", "months_continuous")
    assert not result.passed
    assert result.sample == (("2025-02-01", "missing month"),)
    assert not run(con, "saas_metrics_monthly", "row_count_matches_calendar").passed


def test_quality_series_must_reach_the_as_of_month(con) -> None:
    saas(con, GOOD_MONTHS[:2])
    result = run(con, "saas_metrics_monthly", "months_continuous")
    assert result.sample == (("2025-03-01", "missing month"),)


def test_quality_month_after_as_of_is_found(con) -> None:
    con.execute("create table marts.leads_monthly as select * from (values "
                "(date '2025-02-01', 3), (date '2025-03-01', 4), (date '2025-04-01', 1)) "
                "as t(month, leads)")
    result = run(con, "leads_monthly", "months_continuous")
    assert result.sample == (("2025-04-01", "after the as-of month"),)


def test_quality_next_month_starts_where_the_last_ended(con) -> None:
    months = [list(m) for m in GOOD_MONTHS]
    months[2][1] = 100.0  # March starts at 100.0 though February ended at 100.2
    months[2][7] = 130.0
    saas(con, [tuple(m) for m in months])
    result = run(con, "saas_metrics_monthly", "start_equals_previous_end")
    assert result.failing_rows == 1 and result.sample[0][0] == "2025-03-01"


def test_quality_segments_must_sum_to_the_company(con) -> None:
    saas(con, GOOD_MONTHS)
    con.execute("""
        create table marts.mrr_movements_monthly as
        select month, seg as segment, 'emea' as region, 'web' as acquisition_channel,
            mrr_start / 2 as mrr_start, new_mrr / 2 as new_mrr,
            expansion_mrr / 2 as expansion_mrr, reactivation_mrr / 2 as reactivation_mrr,
            contraction_mrr / 2 as contraction_mrr, churned_mrr / 2 as churned_mrr,
            mrr_end / 2 as mrr_end, net_new_mrr / 2 as net_new_mrr, arr_end / 2 as arr_end,
            customers_start, new_customers, reactivated_customers, churned_customers,
            customers_end
        from marts.saas_metrics_monthly, (values ('smb'), ('ent')) as s(seg)
    """)
    sums = run(con, "mrr_movements_monthly", "segments_sum_to_company")
    # counts were not halved: every customer column is doubled, money sums match
    assert not sums.passed
    assert {row[1] for row in sums.sample} <= {"customers_start", "customers_end",
                                                "new_customers", "churned_customers",
                                                "reactivated_customers"}
    assert run(con, "mrr_movements_monthly", "bridge_reconciles").passed


def test_quality_cohort_triangle_missing_cell_is_found(con) -> None:
    con.execute("""
        create table marts.user_cohorts_monthly as select * from (values
            (date '2025-01-01', 0), (date '2025-01-01', 1), (date '2025-01-01', 2),
            (date '2025-02-01', 0), (date '2025-03-01', 0)
        ) as t(cohort_month, months_since_start)
    """)
    result = run(con, "user_cohorts_monthly", "cohort_triangle_complete")
    assert result.sample == (("2025-02-01", 1, "missing cell"),)


def test_quality_nps_counts_add_up(con) -> None:
    con.execute("""
        create table marts.nps_monthly as select * from (values
            (date '2025-01-01', 10, 5, 3, 2, 30.0),
            (date '2025-02-01', 0, 0, 0, 0, null),
            (date '2025-03-01', 4, 1, 1, 1, 0.0)
        ) as t(month, responses, promoters, passives, detractors, nps)
    """)
    result = run(con, "nps_monthly", "counts_add_up")
    assert result.failing_rows == 1 and result.sample[0][0] == "2025-03-01"


def test_quality_scorecard_has_one_row_per_target(con) -> None:
    con.execute("create table staging.stg_reference__kpi_targets as select * from (values "
                "('mrr_growth_rate', 'month', date '2025-02-01'), "
                "('logo_churn_rate', 'month', date '2025-02-01')) as t(kpi, grain, period_start)")
    con.execute("create table marts.kpi_scorecard as select 'mrr_growth_rate' as kpi, "
                "'month' as grain, date '2025-02-01' as period_start, 'on_track' as status")
    result = run(con, "kpi_scorecard", "one_row_per_target")
    assert result.sample == (("logo_churn_rate", "month", "2025-02-01",
                              "target without a scorecard row"),)


def test_quality_invariant_on_a_missing_table_passes_with_a_note(con) -> None:
    for invariant in INVARIANTS:
        if invariant.table != "marts.saas_metrics_monthly":
            result = run_invariant(con, invariant)
            assert result.passed and "not built" in result.description


def test_quality_invariant_sql_error_fails_instead_of_crashing(con) -> None:
    con.execute("create table marts.saas_metrics_monthly as select date '2025-01-01' as month")
    result = run(con, "saas_metrics_monthly", "bridge_reconciles")
    assert not result.passed and result.error
    assert "could not be evaluated" in result.description
