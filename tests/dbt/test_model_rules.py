"""A model's rules in one dbt test (`model_rules`, macros/tests/model_rules.sql): the test
returns one row per broken rule with its count, dbt's failure count is their sum, a warn
test warns without failing, and good data passes.

The real test nodes of the project run (`dbt test --select <test>`) against hand-made
tables standing in for the models they test (a test reads only the columns it names);
every count below is worked out by hand next to the rows that make it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import broken_rules, query, run_dbt

MOVEMENTS = "rules_int_mrr_movements"  # accepted_values, positive, unique pair, expression, not_null
MIX = "rules_revenue_mix_monthly"  # shares per month, unique pair, continuous per type, between
CUSTOMERS = "rules_stg_crm__customers"  # unique (one column), not_null
WARN = "rules_saas_metrics_monthly_warn"  # logo_churn_rate <= 1, severity warn
TESTS = [MOVEMENTS, MIX, CUSTOMERS]

# customer_id, movement_date, movement_month, movement_type, amount, mrr_change, mrr_before,
# mrr_after
MOVEMENTS_GOOD = """
    ('c1', date '2024-01-05', date '2024-01-01', 'new', 100, 100, 0, 100),
    ('c1', date '2024-02-05', date '2024-02-01', 'expansion', 50, 50, 100, 150)
"""
MOVEMENTS_BAD = """
    ('c1', date '2024-02-05', date '2024-02-01', 'churn', 150, -150, 150, 0),  -- key c1 twice
    ('c2', date '2024-01-10', date '2024-01-01', 'upgrade', 10, 10, 0, 10),   -- no such type;
                                                                              -- amount follows none
    ('c3', date '2024-01-10', date '2024-01-01', 'new', 0, 0, 0, 0),          -- amount not > 0
    ('c4', date '2024-01-12', date '2024-01-01', 'new', 20, 20, null, 20),    -- mrr_before NULL:
                                                                              -- and the rule NULL fails
    ('c5', date '2024-01-15', null, 'new', 5, 5, 0, 5)                        -- movement_month NULL
"""
# month, revenue_type, revenue, invoices, month_revenue, is_complete_month, share
MIX_GOOD = """
    (date '2024-01-01', 'subscription', 80, 2, 100, true, 0.8),
    (date '2024-01-01', 'services', 20, 1, 100, true, 0.2),
    (date '2024-02-01', 'subscription', 0, 0, 0, true, null),  -- no revenue: no share to add up
    (date '2024-02-01', 'services', 0, 0, 0, true, null)
"""
MIX_BAD = """
    (date '2024-01-01', 'subscription', 0, 0, 100, true, null),  -- (Jan, subscription) twice,
                                                                 -- so Jan follows Jan: a gap row
    (date '2024-03-01', 'subscription', 70, 1, 70, true, 0.7),   -- March's shares add up to 0.7
    (date '2024-04-01', 'services', -5, 1, -5, true, 1.0)        -- services skip March: a gap row;
                                                                 -- revenue < 0
"""
# customer_id, segment, region, acquisition_channel
CUSTOMERS_GOOD = "('a', 'smb', 'emea', 'ads'), ('b', 'smb', 'emea', 'ads')"
CUSTOMERS_BAD = """
    ('a', 'smb', 'emea', 'ads'),      -- a twice
    (null, 'smb', 'emea', 'ads'),     -- two NULL ids: not a repeated key, two NULLs
    (null, 'smb', 'emea', null)       -- and a NULL channel
"""


def _tables(path: Path, broken: bool) -> None:
    con = duckdb.connect(str(path))
    try:
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"create schema if not exists {schema}")
        movements = MOVEMENTS_GOOD + ("," + MOVEMENTS_BAD if broken else "")
        con.execute(f"""create or replace table intermediate.int_mrr_movements as
            select * from (values {movements}) t(customer_id, movement_date, movement_month,
                movement_type, amount, mrr_change, mrr_before, mrr_after)""")
        mix = MIX_GOOD + ("," + MIX_BAD if broken else "")
        con.execute(f"""create or replace table marts.revenue_mix_monthly as
            select * from (values {mix}) t(month, revenue_type, revenue, invoices, month_revenue,
                is_complete_month, share)""")
        customers = CUSTOMERS_GOOD + ("," + CUSTOMERS_BAD if broken else "")
        con.execute(f"""create or replace table staging.stg_crm__customers as
            select * from (values {customers}) t(customer_id, segment, region,
                acquisition_channel)""")
    finally:
        con.close()


def _failures(path: Path, test: str) -> list[tuple[str, int]]:
    return query(path, f"select failing_rule, failures from dbt_test__audit.{test} "
                       "order by failing_rule")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return broken_rules(tmp_path_factory, "model_rules_broken", lambda path: _tables(path, broken=True),
                        TESTS)


def test_row_rules_and_key_rules_are_counted_per_rule(broken: tuple[Path, str]) -> None:
    path, _ = broken
    assert _failures(path, MOVEMENTS) == [
        ("accepted_values(movement_type)", 1),   # upgrade
        ("amount_follows_movement_type", 2),     # upgrade; c4's NULL mrr_before (null_fails)
        ("not_null(movement_month)", 1),         # c5
        ("not_null(mrr_before)", 1),             # c4
        ("positive(amount)", 1),                 # c3
        ("unique(customer_id, movement_date)", 1),  # (c1, 2024-02-05): one key, two rows
    ]


def test_series_group_and_range_rules_are_counted_per_rule(broken: tuple[Path, str]) -> None:
    path, _ = broken
    assert _failures(path, MIX) == [
        ("between(revenue)", 1),               # April's -5
        ("continuous(month)", 2),              # the second January; April after February
        ("shares_sum_to_one(share)", 1),       # March: 0.7 (February's NULLs pass)
        ("unique(month, revenue_type)", 1),    # (January, subscription)
    ]


def test_a_one_column_key_ignores_nulls_as_dbt_unique_does(broken: tuple[Path, str]) -> None:
    path, _ = broken
    assert _failures(path, CUSTOMERS) == [
        ("not_null(acquisition_channel)", 1),
        ("not_null(customer_id)", 2),
        ("unique(customer_id)", 1),            # 'a'; the two NULL ids are no key
    ]


def test_dbt_counts_the_sum_of_the_failures(broken: tuple[Path, str]) -> None:
    _, message = broken
    got = dict(re.findall(r"test\.product_metrics\.(\w+?)\.\w+: Got (\d+) results?", message))
    assert got == {MOVEMENTS: "7", MIX: "5", CUSTOMERS: "4"}, message


def test_the_rules_pass_on_good_data(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _tables(path, broken=False)
    run_dbt(path, ["test", "--store-failures", "--select", *TESTS])
    for test in TESTS:
        assert _failures(path, test) == [], test


def test_a_warn_test_warns_without_failing(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.saas_metrics_monthly as select * from "
                    "(values (0.5), (1.0), (1.25), (null)) as t(logo_churn_rate)")
    finally:
        con.close()
    run_dbt(path, ["test", "--store-failures", "--select", WARN])  # raises on a failure
    assert _failures(path, WARN) == [("between(logo_churn_rate)", 1)]


# --- on the slice of an incremental run ---------------------------------------------------
# The rules tests of the incremental models name their day column (`slice_by`). On a run
# that rebuilt a slice and whose previous build passed them (DBT_CHECK_SLICE), they count
# what the slice could have broken; rows outside it are known to pass. Here the rows
# outside the slice (Mar 1-2) break rules on purpose, to show which rows each run reads.
EVENTS_RULES = "rules_stg_product__events"  # unique(event_id), not_null(event_id, event_name, occurred_at)
DAYS_RULES = "rules_int_user_activity_daily"  # positive(event_count), unique(user_id, activity_date), not_null
SLICE = {"min_date": "2024-03-05", "max_date": "2024-03-06"}
EVENTS = """
    ('o1', 'view', timestamp '2024-03-01 10:00', date '2024-03-01'),  -- o1 twice, outside
    ('o1', 'view', timestamp '2024-03-01 10:00', date '2024-03-01'),
    ('o2', null, timestamp '2024-03-02 10:00', date '2024-03-02'),     -- no name, outside
    ('x1', 'view', timestamp '2024-03-02 11:00', date '2024-03-02'),   -- x1 again on Mar 5
    ('x1', 'view', timestamp '2024-03-05 11:00', date '2024-03-05'),
    ('n1', 'view', null, date '2024-03-05'),                            -- no time, in the slice
    ('s1', 'view', timestamp '2024-03-06 09:00', date '2024-03-06'),   -- s1 twice, in the slice
    ('s1', 'view', timestamp '2024-03-06 09:00', date '2024-03-06'),
    (null, 'view', timestamp '2024-03-06 12:00', date '2024-03-06')    -- no id: no key
"""
DAYS = """
    ('u1', date '2024-03-01', 0),   -- not positive, outside
    ('u1', date '2024-03-01', 2),   -- (u1, Mar 1) twice, outside
    ('u2', date '2024-03-05', 1),   -- (u2, Mar 5) twice, in the slice
    ('u2', date '2024-03-05', 3),
    ('u3', date '2024-03-06', -1),  -- not positive, in the slice
    (null, date '2024-03-06', 1)    -- no user
"""


@pytest.fixture(scope="module")
def incremental_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sliced_rules") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema staging")
        con.execute("create schema intermediate")
        con.execute(f"""create table staging.stg_product__events as select * from
            (values {EVENTS}) t(event_id, event_name, occurred_at, occurred_date)""")
        con.execute(f"""create table intermediate.int_user_activity_daily as select * from
            (values {DAYS}) t(user_id, activity_date, event_count)""")
    finally:
        con.close()
    return path


def _rules_on(path: Path, vars: dict[str, str]) -> dict[str, list[tuple[str, int]]]:
    with pytest.raises(RuntimeError):  # both fail either way
        run_dbt(path, ["test", "--store-failures", "--select", EVENTS_RULES, DAYS_RULES], vars=vars)
    return {t: _failures(path, t) for t in (EVENTS_RULES, DAYS_RULES)}


def test_on_a_checked_slice_the_rules_count_what_the_slice_can_break(incremental_tables: Path) -> None:
    assert _rules_on(incremental_tables, {**SLICE, "check_slice": "1"}) == {
        EVENTS_RULES: [
            ("not_null(event_id)", 1),       # Mar 6
            ("not_null(occurred_at)", 1),    # n1
            ("unique(event_id)", 2),         # s1 (twice in the slice), x1 (Mar 2 and Mar 5)
        ],
        DAYS_RULES: [
            ("not_null(user_id)", 1),
            ("positive(event_count)", 1),             # u3
            ("unique(user_id, activity_date)", 1),    # (u2, Mar 5)
        ],
    }


def test_without_the_check_slice_or_a_slice_the_rules_read_whole_tables(incremental_tables: Path) -> None:
    whole = {
        EVENTS_RULES: [
            ("not_null(event_id)", 1),
            ("not_null(event_name)", 1),     # o2
            ("not_null(occurred_at)", 1),
            ("unique(event_id)", 3),         # o1, s1, x1
        ],
        DAYS_RULES: [
            ("not_null(user_id)", 1),
            ("positive(event_count)", 2),             # u1, u3
            ("unique(user_id, activity_date)", 2),    # (u1, Mar 1), (u2, Mar 5)
        ],
    }
    assert _rules_on(incremental_tables, SLICE) == whole  # a slice, but no word that it may
    assert _rules_on(incremental_tables, {"check_slice": "1"}) == whole  # no slice: whole tables


# --- in the model's own pass --------------------------------------------------------------
# The pipeline runs these tests in their models' post-hook (assert_model_rules), which
# records each test's outcome with record_model_rules: the sum of the failures and the
# broken rules by name, in one statement.
def test_an_outcome_is_recorded_with_its_sum_and_its_rules_by_name(tmp_path: Path) -> None:
    from dagster_project.transform import rules_in_model

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        rules_in_model.prepare(con)
    finally:
        con.close()
    failing = ("select * from (values ('unique(id)', 2), ('between(rate)', 1), "
               "('it''s odd', 4)) as t(failing_rule, failures)")
    passing = "select * from (values ('x', 0)) as t(failing_rule, failures) where failures > 0"
    for test, rules_sql, severity in (("t_error", failing, "error"), ("t_warn", failing, "warn"),
                                      ("t_pass", passing, "error")):
        run_dbt(path, ["run-operation", "record_model_rules", "--args", json.dumps({
            "rules_sql": rules_sql, "test_id": f"test.p.{test}", "test_name": test,
            "model_id": "model.p.m", "severity": severity})])
    assert query(path, "select test_name, severity, status, failures, failing_rules from "
                       f"{rules_in_model.TABLE} order by test_name") == [
        ("t_error", "error", "fail", 7, "between(rate) (1), it's odd (4), unique(id) (2)"),
        ("t_pass", "error", "pass", 0, ""),
        ("t_warn", "warn", "warn", 7, "between(rate) (1), it's odd (4), unique(id) (2)"),
    ]
