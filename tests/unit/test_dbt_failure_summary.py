"""A failed model_rules test (a model's rules in one dbt test) names its broken rules in the
build's failure summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.defs.transform.assets import (
    _failing_rules,
    _failure_summary,
    _not_run_note,
)
from dagster_project.resources import WarehouseResource

# The shape dbt compiles a model_rules test to (a not_null rule on two columns and a unique
# rule), run again on the warehouse.
COMPILED = """
    with row_counts as (
        select count(case when amount is null then 1 end) as failures_1,
               count(case when fx_rate is null then 1 end) as failures_2
        from staging.invoices
    ),
    aggregate_1 as (
        select count(*) as failures from (
            select amount from staging.invoices where amount is not null
            group by amount having count(*) > 1) as failing
    ),
    per_rule as (
        select 'not_null(amount)' as failing_rule, failures_1 as failures from row_counts
        union all
        select 'not_null(fx_rate)' as failing_rule, failures_2 as failures from row_counts
        union all
        select 'unique(amount)' as failing_rule, failures from aggregate_1
    )
    select failing_rule, failures from per_rule where failures > 0
"""


class FakeInvocation:
    def __init__(self, results: list[dict], manifest: dict | None = None) -> None:
        self.results = results
        self.manifest = manifest or {"nodes": {}}

    def get_artifact(self, name: str) -> dict:
        assert name == "run_results.json"
        return {"results": self.results}


def _warehouse(tmp_path: Path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema staging")
    con.execute("create table staging.invoices as select * from "
                "(values (1.0, 1.1), (2.0, null), (2.0, null), (4.0, 0.9)) as t(amount, fx_rate)")
    con.close()
    return WarehouseResource(database=str(path), connection_config={"temp_directory": str(tmp_path / "tmp")})


def test_the_summary_names_the_failing_rules_and_their_counts(tmp_path: Path) -> None:
    rules = "test.product_metrics.rules_invoices.ab12"
    invocation = FakeInvocation([
        {"unique_id": rules, "status": "fail",
         "message": "Got 3 results, configured to fail if != 0", "compiled_code": COMPILED},
        {"unique_id": "test.product_metrics.assert_x", "status": "fail",
         "message": "Got 1 result, configured to fail if != 0", "compiled_code": "select 1"},
        {"unique_id": "model.product_metrics.invoices", "status": "success", "message": "OK"},
    ], manifest={"nodes": {rules: {"test_metadata": {"name": "model_rules"}},
                           "test.product_metrics.assert_x": {}}})
    failing = _failing_rules(invocation, _warehouse(tmp_path))
    assert failing == {"rules_invoices": "not_null(fx_rate) (2), unique(amount) (1)"}
    assert _failure_summary(invocation, failing) == (
        "rules_invoices.ab12: Got 3 results, configured to fail if != 0 "
        "[failing rules: not_null(fx_rate) (2), unique(amount) (1)]; "
        "assert_x: Got 1 result, configured to fail if != 0"
    )


def test_tests_that_did_not_run_are_counted_not_failed() -> None:
    results = [
        {"unique_id": "model.p.int_as_of_date", "status": "error"},
        {"unique_id": "test.p.unique_a.1f", "status": "skipped"},
        {"unique_id": "test.p.rules_b.2e", "status": "error"},
        {"unique_id": "test.p.unique_c.3d", "status": "fail"},  # ran, and failed: not counted
        {"unique_id": "test.p.unique_d.4c", "status": "pass"},
    ]
    assert _not_run_note(results) == (
        "; 2 dbt test(s) could not run and were not evaluated (rules_b, unique_a)")
    assert _not_run_note([{"unique_id": f"test.p.t{i}.x", "status": "skipped"} for i in range(7)]
                         ).endswith("(t0, t1, t2, t3, t4, ...)")
    assert _not_run_note(results[3:]) == ""
