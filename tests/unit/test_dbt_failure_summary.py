"""A failed grouped column test names its broken columns in the build's failure summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.defs.transform.assets import (
    _failing_columns,
    _failure_summary,
    _not_run_note,
)
from dagster_project.resources import WarehouseResource

# What dbt compiles columns_not_null to (two columns), run again on the warehouse.
COMPILED = """
    with counts as (
        select count(case when amount is null then 1 end) as failing_rows_1,
               count(case when fx_rate is null then 1 end) as failing_rows_2
        from staging.invoices
    ),
    per_column as (
        select 'amount' as failing_column, failing_rows_1 as failing_rows from counts
        union all
        select 'fx_rate' as failing_column, failing_rows_2 as failing_rows from counts
    )
    select * from per_column where failing_rows > 0
"""


class FakeInvocation:
    def __init__(self, results: list[dict]) -> None:
        self.results = results

    def get_artifact(self, name: str) -> dict:
        assert name == "run_results.json"
        return {"results": self.results}


def _warehouse(tmp_path: Path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema staging")
    con.execute("create table staging.invoices as select * from "
                "(values (1.0, 1.1), (2.0, null), (3.0, null), (4.0, 0.9)) as t(amount, fx_rate)")
    con.close()
    return WarehouseResource(database=str(path), connection_config={"temp_directory": str(tmp_path / "tmp")})


def test_the_summary_names_the_failing_column_and_its_rows(tmp_path: Path) -> None:
    invocation = FakeInvocation([
        {"unique_id": "test.product_metrics.columns_not_null_invoices.ab12", "status": "fail",
         "message": "Got 2 results, configured to fail if != 0", "compiled_code": COMPILED},
        {"unique_id": "test.product_metrics.unique_invoices_id.cd34", "status": "fail",
         "message": "Got 1 result, configured to fail if != 0", "compiled_code": "select 1"},
        {"unique_id": "model.product_metrics.invoices", "status": "success", "message": "OK"},
    ])
    failing = _failing_columns(invocation, _warehouse(tmp_path))
    assert failing == {"columns_not_null_invoices": "fx_rate (2 rows)"}
    assert _failure_summary(invocation, failing) == (
        "columns_not_null_invoices.ab12: Got 2 results, configured to fail if != 0 "
        "[failing columns: fx_rate (2 rows)]; "
        "unique_invoices_id.cd34: Got 1 result, configured to fail if != 0"
    )


def test_tests_that_did_not_run_are_counted_not_failed() -> None:
    results = [
        {"unique_id": "model.p.int_as_of_date", "status": "error"},
        {"unique_id": "test.p.unique_a.1f", "status": "skipped"},
        {"unique_id": "test.p.columns_not_null_b.2e", "status": "error"},
        {"unique_id": "test.p.unique_c.3d", "status": "fail"},  # ran, and failed: not counted
        {"unique_id": "test.p.unique_d.4c", "status": "pass"},
    ]
    assert _not_run_note(results) == (
        "; 2 dbt test(s) could not run and were not evaluated (columns_not_null_b, unique_a)")
    assert _not_run_note([{"unique_id": f"test.p.t{i}.x", "status": "skipped"} for i in range(7)]
                         ).endswith("(t0, t1, t2, t3, t4, ...)")
    assert _not_run_note(results[3:]) == ""
