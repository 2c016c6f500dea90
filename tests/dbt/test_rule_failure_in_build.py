"""A broken rule stops the pipeline's dbt step with a message naming the test and the
broken rule with its count, and its Dagster check says the same.

The Dagster dbt asset runs for real (dbt as the pipeline runs it) on a fixture warehouse
whose raw subscription events hold one event in a currency without any exchange rate
(ingestion would have quarantined it; here it is written straight into raw): staging then
has no rate for it, which breaks the not_null rule on fx_rate of
rules_stg_billing__subscription_events, once."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import dagster as dg

from dagster_project.settings import load_settings
from tests.dbt_harness import build_fixture_warehouse

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,billing_period,unit_amount,quantity,discount_amount,currency
e1,s1,c1,created,2024-01-10,,month,10,5,,USD
e2,s2,c2,created,2024-01-12,,month,20,1,,XYZ
"""
RULES = "rules_stg_billing__subscription_events"


def test_a_broken_rule_is_named_with_its_count(tmp_path: Path) -> None:
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
    staging = dg.AssetKey(["staging", "stg_billing__subscription_events"])
    rates = dg.AssetKey(["staging", "stg_reference__fx_rates"])  # which staging reads
    # The dbt asset sets dbt's variables (DBT_AS_OF_DATE, the warehouse path) in this
    # process's environment: restore it, so that later dbt tests here do not inherit them.
    with mock.patch.dict(os.environ), dg.DagsterInstance.ephemeral() as instance:
        # The resolved asset carries the definitions' resources (dbt, the warehouse).
        result = dg.materialize([defs.resolve_assets_def(staging)], instance=instance,
                                selection=[rates, staging], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert f"{RULES}" in failure.description
    assert "[failing rules: not_null(fx_rate) (1)]" in failure.description
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks[RULES].passed
    assert checks[RULES].description == "failing rules: not_null(fx_rate) (1)"
