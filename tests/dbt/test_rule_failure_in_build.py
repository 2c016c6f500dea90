"""A broken rule stops the pipeline's dbt step with a message naming the test and the
broken rule with its count, and its Dagster check says the same.

The Dagster dbt asset runs for real (dbt as the pipeline runs it) on a fixture warehouse
whose raw subscription events hold one event in a currency without any exchange rate
(ingestion would have quarantined it; here it is written straight into raw): staging then
has no rate for it, which breaks the not_null rule on fx_rate of
rules_stg_billing__subscription_events, once.

On DuckDB the pipeline runs a model's `model_rules` tests in the model's own pass (its
post-hook, dagster_project/transform/rules_in_model.py): the failure must read, block and
report as a failed test did."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import dagster as dg
import duckdb
import pytest

from dagster_project.settings import load_settings
from tests.dbt_harness import build_fixture_warehouse

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,billing_period,unit_amount,quantity,discount_amount,currency
e1,s1,c1,created,2024-01-10,,month,10,5,,USD
e2,s2,c2,created,2024-01-12,,month,20,1,,XYZ
"""
RULES = "rules_stg_billing__subscription_events"
STAGING = dg.AssetKey(["staging", "stg_billing__subscription_events"])
RATES = dg.AssetKey(["staging", "stg_reference__fx_rates"])  # which staging reads
AS_OF = dg.AssetKey(["intermediate", "int_as_of_date"])  # which reads staging


@pytest.fixture()
def run(tmp_path: Path):
    from dagster_project.definitions import build_definitions

    warehouse = tmp_path / "warehouse.duckdb"
    build_fixture_warehouse(warehouse, {"subscription_events": SUBSCRIPTION_EVENTS})
    settings = load_settings(env={
        "METRICS_LANDING_DIR": str(tmp_path / "landing"),
        "METRICS_WAREHOUSE_PATH": str(warehouse),
        "METRICS_SERVING_PATH": str(tmp_path / "serving.duckdb"),
        "METRICS_DUCKDB_TEMP_DIR": str(tmp_path / "tmp"),
        "METRICS_AS_OF_DATE": "2024-01-31",
    })
    defs = build_definitions(settings)

    def materialize(selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
        # The dbt asset sets dbt's variables (DBT_AS_OF_DATE, the warehouse path) in this
        # process's environment: restore it, so that later dbt tests here do not inherit them.
        with mock.patch.dict(os.environ), dg.DagsterInstance.ephemeral() as instance:
            # The resolved asset carries the definitions' resources (dbt, the warehouse).
            return dg.materialize([defs.resolve_assets_def(STAGING)], instance=instance,
                                  selection=selection, raise_on_error=False)

    return materialize, warehouse


def test_a_broken_rule_is_named_with_its_count_and_blocks_what_reads_the_model(run) -> None:
    materialize, warehouse = run
    result = materialize(dg.AssetSelection.assets(RATES, STAGING, AS_OF))
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description == (
        f"dbt build failed: {RULES}: 1 failing [failing rules: not_null(fx_rate) (1)]")
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks[RULES].passed
    assert checks[RULES].description == "failing rules: not_null(fx_rate) (1)"
    assert checks[RULES].metadata["dagster_dbt/failed_row_count"].value == 1
    assert checks["rules_stg_reference__fx_rates"].passed
    # The checked table stays as built (as after a failed test); what reads it never runs.
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert built == {RATES, STAGING}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*), count(fx_rate) from staging."
                           "stg_billing__subscription_events").fetchone() == (2, 1)
        assert con.execute("select count(*) from duckdb_tables() where table_name = "
                           "'int_as_of_date'").fetchone() == (0,)
        # The post-hook's record, which the check above reports.
        assert con.execute(
            "select test_name, status, failures, failing_rules from checks.model_rule_results "
            "order by test_name").fetchall() == [
            (RULES, "fail", 1, "not_null(fx_rate) (1)"),
            ("rules_stg_reference__fx_rates", "pass", 0, ""),
        ]
    finally:
        con.close()


def test_a_model_built_without_its_rules_check_is_not_blocked_by_it(run) -> None:
    # Deselecting the check (the Dagster UI allows it): the rules run neither as a test nor
    # in the model's pass, and the model is built.
    materialize, _ = run
    result = materialize(dg.AssetSelection.assets(RATES, STAGING)
                         - dg.AssetSelection.checks(dg.AssetCheckKey(STAGING, RULES)))
    assert result.success
    assert {e.check_name for e in result.get_asset_check_evaluations()} == {
        "rules_stg_reference__fx_rates"}
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {RATES, STAGING}
