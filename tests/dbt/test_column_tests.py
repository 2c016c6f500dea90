"""The model-level column tests (macros/tests/generic_tests.sql): columns_not_null and
columns_between fail with one row per broken column naming it and its count of bad rows,
keep value_between's rules (inclusive bounds, NULL passes) and pass on good data.

The real test nodes of the project run (`dbt test --select <test>`) against hand-made
tables standing in for the models they test (a test reads only the columns it names)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import query, run_dbt

NOT_NULL = "columns_not_null_acv_monthly"  # columns: month, bookings, total_contract_value
BETWEEN = "columns_between_acv_monthly"  # bookings >= 0, total_contract_value >= 0, acv >= 0
WARN = "columns_between_saas_metrics_monthly_warn"  # logo_churn_rate <= 1, severity warn

GOOD_ROWS = """
    (date '2024-01-01', 2, 1000.0, 500.0),
    (date '2024-02-01', 0, 0.0, null)      -- bounds are inclusive; NULL passes a range
"""
BAD_ROWS = """
    (null,              1, 100.0, 100.0),  -- month NULL
    (date '2024-03-01', -1, null, -0.01),  -- bookings < 0, total_contract_value NULL, acv < 0
    (date '2024-04-01', 2, null, -5.0)     -- total_contract_value NULL, acv < 0
"""


def _acv_table(path: Path, rows: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("""create or replace table marts.acv_monthly (
            month date, bookings integer, total_contract_value double, acv double,
            annual_contract_value double default 0)""")
        con.execute("insert into marts.acv_monthly (month, bookings, total_contract_value, acv) "
                    f"values {rows}")
    finally:
        con.close()


def _failures(path: Path, test: str) -> list[tuple[str, int]]:
    return query(path, f"select failing_column, failing_rows from dbt_test__audit.{test} "
                       "order by failing_column")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("column_tests_broken") / "warehouse.duckdb"
    _acv_table(path, GOOD_ROWS + "," + BAD_ROWS)
    with pytest.raises(RuntimeError) as failure:
        run_dbt(path, ["test", "--store-failures", "--select", NOT_NULL, BETWEEN])
    return path, str(failure.value)


def test_columns_not_null_names_each_column_with_its_null_count(broken: tuple[Path, str]) -> None:
    path, _ = broken
    assert _failures(path, NOT_NULL) == [("month", 1), ("total_contract_value", 2)]


def test_columns_between_names_each_column_out_of_range(broken: tuple[Path, str]) -> None:
    path, _ = broken
    # total_contract_value's NULLs are the not-null test's business, not the range's.
    assert _failures(path, BETWEEN) == [("acv", 2), ("bookings", 1)]


def test_dbt_counts_the_bad_rows_of_every_column(broken: tuple[Path, str]) -> None:
    _, message = broken
    got = dict(re.findall(r"test\.product_metrics\.(\w+?)\.\w+: Got (\d+) results?", message))
    assert got == {NOT_NULL: "3", BETWEEN: "3"}, message


def test_the_column_tests_pass_on_good_data(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _acv_table(path, GOOD_ROWS)
    run_dbt(path, ["test", "--store-failures", "--select", NOT_NULL, BETWEEN])
    assert _failures(path, NOT_NULL) == [] and _failures(path, BETWEEN) == []


def test_a_warn_range_warns_without_failing(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.saas_metrics_monthly as select * from "
                    "(values (0.5), (1.0), (1.25), (null)) as t(logo_churn_rate)")
    finally:
        con.close()
    run_dbt(path, ["test", "--store-failures", "--select", WARN])  # raises on a failure
    assert _failures(path, WARN) == [("logo_churn_rate", 1)]
