"""Cross-row rules of the published marts, stated as dbt tests (the one owner of such rules):
a series ends by (or at) the as-of period, NPS follows its counts, the scorecard has one row
per target, the user-cohort triangle runs through the as-of month, the plans' MRR adds up
to the company's.

The real test nodes of the project run (`dbt test --select ...`) against hand-made tables
standing in for the models they read; each broken table breaks one rule in a way counted
by hand below, and the same tests pass on the mended tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import broken_rules, query, run_dbt

REACHES = "product_usage_daily_reaches_the_as_of_date"
NPS_ENDS = "nps_monthly_ends_by_the_as_of_month"
NPS_RULES = "rules_nps_monthly"  # among them nps_follows_its_counts
ONE_PER_TARGET = "assert_kpi_scorecard_one_row_per_target"
TRIANGLE = "user_cohorts_monthly_is_a_full_triangle"
PLANS_SUM = "mrr_by_plan_monthly_sums_to_saas_metrics"
TESTS = [REACHES, NPS_ENDS, NPS_RULES, ONE_PER_TARGET, TRIANGLE, PLANS_SUM]

AS_OF = "2024-03-10"


def _tables(path: Path, broken: bool) -> None:
    con = duckdb.connect(str(path))
    try:
        for schema in ("intermediate", "staging", "marts"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(f"create or replace table intermediate.int_as_of_date as "
                    f"select date '{AS_OF}' as as_of_date")
        # Daily series: broken, it stops one day short of the as-of date.
        last_day = "2024-03-09" if broken else AS_OF
        con.execute(f"""create or replace table marts.product_usage_daily as
            select cast(d as date) as date
            from generate_series(date '2024-03-01', date '{last_day}', interval 1 day) t(d)""")
        # NPS: broken, a month after the as-of month, a score on a month without
        # responses, and a score that does not follow its counts (4 responses: 1 promoter,
        # 2 detractors -> -25, not 10).
        nps_rows = [
            ("2024-01-01", 10, 5, 3, 2, "30.0"),  # 100 * (5 - 2) / 10 = 30
            ("2024-02-01", 0, 0, 0, 0, "null" if not broken else "0.0"),
            ("2024-03-01", 4, 1, 1, 2, "-25.0" if not broken else "10.0"),
        ]
        if broken:
            nps_rows.append(("2024-04-01", 1, 1, 0, 0, "100.0"))
        values = ", ".join(f"(date '{m}', {r}, {p}, {pa}, {d}, {n})"
                           for m, r, p, pa, d, n in nps_rows)
        con.execute(f"""create or replace table marts.nps_monthly as select * from (values {values})
            t(month, responses, promoters, passives, detractors, nps)""")
        # Targets and scorecard: broken, the mrr target has no row and an arr row has no
        # target.
        con.execute("""create or replace table staging.stg_reference__kpi_targets as
            select * from (values ('nps', 'month', date '2024-01-01'),
                                  ('mrr', 'month', date '2024-01-01')) t(kpi, grain, period_start)""")
        card = ("('nps', 'month', date '2024-01-01'), ('arr', 'quarter', date '2024-01-01')"
                if broken else
                "('nps', 'month', date '2024-01-01'), ('mrr', 'month', date '2024-01-01')")
        con.execute(f"""create or replace table marts.kpi_scorecard as
            select * from (values {card}) t(kpi, grain, period_start)""")
        # User cohorts (as-of month March): January needs k = 0..2, February 0..1, March 0.
        # Broken: January stops at k = 1, a month short of the as-of month.
        cells = [("2024-01-01", 0), ("2024-01-01", 1), ("2024-02-01", 0), ("2024-02-01", 1),
                 ("2024-03-01", 0)]
        if not broken:
            cells.append(("2024-01-01", 2))
        values = ", ".join(f"(date '{m}', {k})" for m, k in cells)
        con.execute(f"""create or replace table marts.user_cohorts_monthly as
            select * from (values {values}) t(cohort_month, months_since_start)""")
        # MRR by plan against the company's: broken, February's plans add up to a cent less
        # than its MRR, and March has no plan row though the company's MRR is 50.
        con.execute("""create or replace table marts.saas_metrics_monthly as
            select * from (values (date '2024-01-01', 100.00), (date '2024-02-01', 150.00),
                                  (date '2024-03-01', 50.00)) t(month, mrr_end)""")
        plans = [("2024-01-01", "a", "60.00"), ("2024-01-01", "b", "40.00"),
                 ("2024-02-01", "a", "99.99" if broken else "100.00"), ("2024-02-01", "b", "50.00")]
        if not broken:
            plans.append(("2024-03-01", "a", "50.00"))
        values = ", ".join(f"(date '{m}', '{p}', {v})" for m, p, v in plans)
        con.execute(f"""create or replace table marts.mrr_by_plan_monthly as
            select * from (values {values}) t(month, plan_id, mrr_end)""")
    finally:
        con.close()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return broken_rules(tmp_path_factory, "mart_rules_broken", lambda path: _tables(path, broken=True),
                        TESTS)


def _failing(path: Path, test: str) -> list[tuple]:
    return query(path, f"select * from dbt_test__audit.{test} order by all")


def test_every_broken_rule_fails(broken: tuple[Path, str]) -> None:
    _, message = broken
    for test in TESTS:
        assert test in message, (test, message)


def test_a_daily_series_must_reach_the_as_of_date(broken: tuple[Path, str]) -> None:
    import datetime as dt

    path, _ = broken
    assert _failing(path, REACHES) == [(dt.date(2024, 3, 9), dt.date(2024, 3, 10))]


def test_a_monthly_series_must_not_pass_the_as_of_month(broken: tuple[Path, str]) -> None:
    import datetime as dt

    path, _ = broken
    assert _failing(path, NPS_ENDS) == [(dt.date(2024, 4, 1), dt.date(2024, 3, 1))]


def test_nps_follows_its_counts(broken: tuple[Path, str]) -> None:
    path, _ = broken
    # February (a score without responses) and March (10, not -25); no other rule of the
    # table breaks (the April row is a month after the as-of month, NPS_ENDS's business).
    assert _failing(path, NPS_RULES) == [("nps_follows_its_counts", 2)]


def test_the_scorecard_has_one_row_per_target(broken: tuple[Path, str]) -> None:
    path, _ = broken
    rows = [(k, g, p) for k, g, _, p in _failing(path, ONE_PER_TARGET)]
    assert rows == [("arr", "quarter", "scorecard row without a target"),
                    ("mrr", "month", "target without a scorecard row")]


def test_the_user_cohort_triangle_runs_through_the_as_of_month(broken: tuple[Path, str]) -> None:
    path, _ = broken
    failing = _failing(path, TRIANGLE)
    assert [(str(r[0]), r[1], r[2], r[3]) for r in failing] == [("2024-01-01", 2, 0, 1)]


def test_the_plans_mrr_adds_up_to_the_companys(broken: tuple[Path, str]) -> None:
    path, _ = broken
    # (month, company's mrr_end, the plans' sum): a cent short in February, none in March
    rows = [(str(r[0]), float(r[1]), None if r[2] is None else float(r[2]))
            for r in _failing(path, PLANS_SUM)]
    assert rows == [("2024-02-01", 150.0, 149.99), ("2024-03-01", 50.0, None)]


def test_the_rules_pass_on_mended_marts(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _tables(path, broken=False)
    run_dbt(path, ["test", "--store-failures", "--select", *TESTS])
    for test in TESTS:
        assert _failing(path, test) == [], test
