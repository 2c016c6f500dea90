"""A failed grouped column test names its broken columns in the build's failure summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.defs.transform.assets import _failing_columns, _failure_summary
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
    return WarehouseResource(warehouse_path=str(path), temp_dir=str(tmp_path / "tmp"))


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
