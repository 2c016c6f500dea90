"""The quality checks as Dagster asset checks: names, blocking, severities, descriptions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.contract import SOURCES, create_typed_table_sql
from dagster_project.defs.quality.checks import (
    CONTRACT_CHECK,
    FRESHNESS_CHECK,
    MART_CHECK,
    build_quality_checks,
)
from dagster_project.resources import WarehouseResource
from dagster_project.settings import load_settings

SAAS = dg.AssetKey(["marts", "saas_metrics_monthly"])
DOWNSTREAM = dg.AssetKey(["marts", "downstream_of_raw"])


def _events(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.execute("create schema if not exists raw")
    con.execute("drop table if exists raw.subscription_events")
    con.execute(create_typed_table_sql("subscription_events", "raw.subscription_events"))
    for i, (event_type, occurred_at) in enumerate(rows):
        con.execute(
            "insert into raw.subscription_events values (?, 's1', 'c1', ?, ?, ?, 'pro', "
            "'month', 10.0, 1, 0.0, 'USD', 'f.csv', ?, now())",
            [f"e{i}", event_type, occurred_at, occurred_at, i + 2],
        )


def _run(tmp_path: Path, as_of: str, setup) -> dg.ExecuteInProcessResult:
    settings = load_settings(env={}, base_dir=tmp_path, as_of_date=as_of)
    settings.warehouse_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    setup(con)
    con.close()
    raw = [dg.AssetSpec(dg.AssetKey(["raw", s])) for s in SOURCES]

    @dg.asset(key=DOWNSTREAM, deps=[dg.AssetKey(["raw", "subscription_events"])])
    def downstream() -> None:
        return None

    @dg.asset(key=SAAS)
    def saas_metrics_monthly() -> None:
        return None

    checks = build_quality_checks(settings, asset_keys=[SAAS, DOWNSTREAM])
    defs = dg.Definitions(
        assets=[*[dg.asset(key=s.key)(lambda: None) for s in raw], downstream,
                saas_metrics_monthly],
        asset_checks=checks,
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        executor=dg.in_process_executor,
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
    )
    return defs.resolve_job_def("all").execute_in_process(raise_on_error=False)


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()}


def test_quality_check_names_and_blocking(tmp_path: Path) -> None:
    settings = load_settings(env={}, base_dir=tmp_path)
    checks = build_quality_checks(settings, asset_keys=[SAAS])
    specs = {(spec.asset_key.to_user_string(), spec.name): spec.blocking
             for check in checks for spec in check.check_specs}
    for source in SOURCES:
        assert specs[(f"raw/{source}", CONTRACT_CHECK)] is True
        assert specs[(f"raw/{source}", FRESHNESS_CHECK)] is False
    saas = {name: blocking for (key, name), blocking in specs.items()
            if key == "marts/saas_metrics_monthly"}
    # The mart's structural rules (bridge, calendar, continuity) are dbt tests, not here.
    assert saas == {MART_CHECK: True}
    # marts that are not assets of the graph get no checks
    assert not any(key.startswith("marts/nps") for key, _ in specs)


def test_quality_critical_failure_blocks_downstream(tmp_path: Path) -> None:
    result = _run(tmp_path, "2025-01-10", lambda con: _events(
        con, [("created", "2025-01-09 10:00:00"), ("paused", "2025-01-09 11:00:00")]))
    evaluations = _evaluations(result)
    contract = evaluations[("raw/subscription_events", CONTRACT_CHECK)]
    assert not contract.passed and contract.severity == dg.AssetCheckSeverity.ERROR
    assert contract.description.startswith("raw.subscription_events: 1 of ")
    assert "expect_column_values_to_be_in_set(event_type)" in contract.description
    assert "'paused'" in contract.description
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert DOWNSTREAM not in materialized  # blocked by the failed blocking check
    assert "| critical |" in contract.metadata["failures"].value


def test_quality_stale_source_warns_without_blocking(tmp_path: Path) -> None:
    result = _run(tmp_path, "2025-06-30", lambda con: _events(
        con, [("created", "2025-01-09 10:00:00")]))
    evaluations = _evaluations(result)
    assert evaluations[("raw/subscription_events", CONTRACT_CHECK)].passed
    fresh = evaluations[("raw/subscription_events", FRESHNESS_CHECK)]
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.WARN
    assert "STALE newest row 2025-01-09 10:00:00" in fresh.description
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert DOWNSTREAM in materialized


def test_quality_volume_drop_is_a_warning(tmp_path: Path) -> None:
    def setup(con: duckdb.DuckDBPyConnection) -> None:
        day = dt.datetime(2025, 1, 1, 12)
        rows = [("created", day + dt.timedelta(days=d)) for d in range(7) for _ in range(20)]
        rows += [("created", day + dt.timedelta(days=7))] * 3  # 3 rows vs a mean of 20
        _events(con, rows)

    result = _run(tmp_path, "2025-01-08", setup)
    fresh = _evaluations(result)[("raw/subscription_events", FRESHNESS_CHECK)]
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.WARN
    assert "VOLUME newest day 2025-01-08 has 3 rows, 15% of the 7-day mean 20.0" in (
        fresh.description)
    assert DOWNSTREAM in {e.asset_key for e in result.get_asset_materialization_events()}


def test_quality_tables_not_built_pass_with_a_description(tmp_path: Path) -> None:
    result = _run(tmp_path, "2025-01-10", lambda con: con.execute("create schema raw"))
    evaluations = _evaluations(result)
    assert all(e.passed for e in evaluations.values())
    assert evaluations[("raw/leads", CONTRACT_CHECK)].description == (
        "raw.leads: table not built yet (no data landed); nothing to check")
    assert evaluations[("marts/saas_metrics_monthly", MART_CHECK)].description == (
        "marts.saas_metrics_monthly: table not built yet (no data for it); nothing to check")


def test_quality_checks_pass_before_the_warehouse_exists(tmp_path: Path) -> None:
    settings = load_settings(env={}, base_dir=tmp_path)
    checks = build_quality_checks(settings, asset_keys=[])
    defs = dg.Definitions(
        assets=[dg.asset(key=dg.AssetKey(["raw", s]))(lambda: None) for s in SOURCES],
        asset_checks=checks,
        resources={"warehouse": WarehouseResource.from_settings(settings)},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(raise_on_error=False)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_quality_broken_mart_fails_blocking(tmp_path: Path) -> None:
    def setup(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("create schema marts")
        con.execute("create table marts.saas_metrics_monthly as select date '2025-01-01' "
                    "as month, 0.0 as mrr_start, -5.0 as new_mrr")

    evaluation = _evaluations(_run(tmp_path, "2025-01-10", setup))[
        ("marts/saas_metrics_monthly", MART_CHECK)]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description.startswith("marts.saas_metrics_monthly: ")
