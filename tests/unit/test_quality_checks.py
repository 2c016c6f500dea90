"""The quality checks as Dagster asset checks: names, blocking, severities, descriptions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.contract import SOURCES, create_typed_table_sql
from dagster_project.defs.quality.checks import BATCH_CHECK, MART_CHECK, build_quality_checks
from dagster_project.defs.quality.freshness import CHECK as FRESHNESS_CHECK
from dagster_project.resources import WarehouseResource
from dagster_project.settings import load_settings

SAAS = dg.AssetKey(["marts", "saas_metrics_monthly"])
DOWNSTREAM = dg.AssetKey(["marts", "downstream_of_raw"])
AFTER_SAAS = dg.AssetKey(["serving", "after_saas"])
EVENTS = dg.AssetKey(["raw", "subscription_events"])


def _events(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """rows: (plan_id, occurred_at, ingested_at); batches follow the ingestion times."""
    con.execute("create schema if not exists raw")
    con.execute("drop table if exists raw.subscription_events")
    con.execute(create_typed_table_sql("subscription_events", "raw.subscription_events"))
    con.execute("create schema if not exists ops")
    con.execute("create table if not exists ops.ingestion_batches (source varchar, "
                "batch_id bigint, mode varchar, files bigint, rows bigint, ingested_at timestamp)")
    for i, (plan, occurred_at, ingested_at) in enumerate(rows):
        con.execute(
            "insert into raw.subscription_events values (?, 's1', 'c1', 'created', ?, ?, ?, "
            "'month', 10.0, 1, 0.0, 'USD', 'f.csv', ?, ?)",
            [f"e{i}", occurred_at, occurred_at, plan, i + 2, ingested_at],
        )
    for n, (at,) in enumerate(con.execute("select distinct _ingested_at from "
                                          "raw.subscription_events order by 1").fetchall()):
        con.execute("insert into ops.ingestion_batches values ('subscription_events', ?, "
                    "'incremental', 1, 1, ?)", [n + 1, at])


def _run(tmp_path: Path, setup, newest_row: dt.datetime | None = None) -> dg.ExecuteInProcessResult:
    settings = load_settings(env={}, base_dir=tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    setup(con)
    con.close()
    newest = newest_row or dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def raw_asset(key: dg.AssetKey) -> dg.AssetsDefinition:
        @dg.asset(key=key)
        def ingested() -> dg.MaterializeResult:  # as the ingestion assets report it
            return dg.MaterializeResult(metadata={"dagster/last_updated_timestamp":
                                                  dg.MetadataValue.timestamp(
                                                      newest.replace(tzinfo=dt.UTC))})
        return ingested

    @dg.asset(key=DOWNSTREAM, deps=[EVENTS])
    def downstream() -> None:
        return None

    @dg.asset(key=SAAS)
    def saas_metrics_monthly() -> None:
        return None

    @dg.asset(key=AFTER_SAAS, deps=[SAAS])
    def after_saas() -> None:
        return None

    checks = build_quality_checks(settings, asset_keys=[SAAS, DOWNSTREAM])
    defs = dg.Definitions(
        assets=[*[raw_asset(dg.AssetKey(["raw", s])) for s in SOURCES], downstream,
                saas_metrics_monthly, after_saas],
        asset_checks=checks,
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        executor=dg.in_process_executor,
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
    )
    return defs.resolve_job_def("all").execute_in_process(
        raise_on_error=False, instance=dg.DagsterInstance.ephemeral())


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_quality_check_names_and_blocking(tmp_path: Path) -> None:
    settings = load_settings(env={}, base_dir=tmp_path)
    checks = build_quality_checks(settings, asset_keys=[SAAS])
    specs = {(spec.asset_key.to_user_string(), spec.name): spec
             for check in checks for spec in check.check_specs}
    for source in SOURCES:
        # GX severity decides (critical blocks, warning reports); freshness only warns
        assert specs[(f"raw/{source}", BATCH_CHECK)].blocking is True
        assert specs[(f"raw/{source}", FRESHNESS_CHECK)].blocking is False
    assert specs[("raw/product_events", BATCH_CHECK)].additional_deps  # after raw/users
    saas = {name: spec.blocking for (key, name), spec in specs.items()
            if key == "marts/saas_metrics_monthly"}
    # The mart's structural rules (bridge, calendar, continuity) are dbt tests, not here.
    assert saas == {MART_CHECK: True}
    # marts that are not assets of the graph get no checks
    assert not any(key.startswith("marts/nps") for key, _ in specs)


def test_quality_gx_warning_on_a_new_batch_does_not_block(tmp_path: Path) -> None:
    first, second = dt.datetime(2025, 1, 20), dt.datetime(2025, 1, 21)
    result = _run(tmp_path, lambda con: _events(con, [
        ("pro", "2025-01-09 10:00:00", first), ("gold", "2025-01-20 10:00:00", second)]))
    batch = _evaluations(result)[("raw/subscription_events", BATCH_CHECK)]
    assert not batch.passed and batch.severity == dg.AssetCheckSeverity.WARN
    assert batch.description.startswith("raw.subscription_events batch 2: 1 of ")
    assert "expect_column_values_to_be_in_set(plan_id)" in batch.description
    assert "'gold'" in batch.description
    assert "| warning |" in batch.metadata["failures"].value
    page = Path(batch.metadata["data_docs"].value)
    assert page.exists() and ">gold<" in page.read_text()
    # offline, the failing row reads FAIL (GX's icon is a web font from a CDN)
    from dagster_project.quality.data_docs import OFFLINE_STYLE
    assert page.read_text().count(OFFLINE_STYLE) == 1 and "fa-times text-danger" in page.read_text()
    index = tmp_path / "data" / "serving" / "quality" / "index.html"
    assert ">FAIL<" in index.read_text()
    assert DOWNSTREAM in _materialized(result)  # a warning: published downstream


def test_quality_stale_source_warns_in_dagster_freshness_check(tmp_path: Path) -> None:
    result = _run(tmp_path, lambda con: _events(con, [("pro", "2025-01-09 10:00:00",
                                                       dt.datetime(2025, 1, 10))]),
                  newest_row=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=20))
    fresh = _evaluations(result)[("raw/subscription_events", FRESHNESS_CHECK)]
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.WARN
    assert "overdue" in fresh.description and "20 days" in fresh.description
    assert _evaluations(result)[("raw/users", FRESHNESS_CHECK)].passed is False
    assert DOWNSTREAM in _materialized(result)
    # The freshness results come in the contract's order of sources, every run.
    order = [e.asset_key.path[-1] for e in result.get_asset_check_evaluations()
             if e.check_name == FRESHNESS_CHECK]
    assert order == [s for s in SOURCES if s in order] and len(order) > 5


def test_quality_fresh_sources_pass(tmp_path: Path) -> None:
    result = _run(tmp_path, lambda con: con.execute("create schema raw"))
    evaluations = _evaluations(result)
    assert evaluations[("raw/product_events", FRESHNESS_CHECK)].passed


def test_quality_tables_not_built_pass_with_a_description(tmp_path: Path) -> None:
    result = _run(tmp_path, lambda con: con.execute("create schema raw"))
    evaluations = _evaluations(result)
    assert all(e.passed for e in evaluations.values())
    assert evaluations[("raw/leads", BATCH_CHECK)].description == (
        "raw.leads: table not built yet (no data landed); nothing to check")
    assert evaluations[("marts/saas_metrics_monthly", MART_CHECK)].description == (
        "marts.saas_metrics_monthly: table not built yet (no data for it); nothing to check")


def test_quality_checks_pass_before_the_warehouse_exists(tmp_path: Path) -> None:
    settings = load_settings(env={}, base_dir=tmp_path)
    checks = [c for c in build_quality_checks(settings, asset_keys=[])
              if not any(s.name == FRESHNESS_CHECK for s in c.check_specs)]
    defs = dg.Definitions(
        assets=[dg.asset(key=dg.AssetKey(["raw", s]))(lambda: None) for s in SOURCES],
        asset_checks=checks,
        resources={"warehouse": WarehouseResource.from_settings(settings)},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(raise_on_error=False)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_quality_mart_missing_a_published_column_fails_blocking(tmp_path: Path) -> None:
    def setup(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("create schema marts")
        con.execute("create table marts.saas_metrics_monthly as select date '2025-01-01' "
                    "as month, 0.0 as mrr_start, 5.0 as new_mrr")

    result = _run(tmp_path, setup)
    evaluation = _evaluations(result)[("marts/saas_metrics_monthly", MART_CHECK)]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description.startswith("marts.saas_metrics_monthly: ")
    assert "expect_table_columns_to_match_set" in evaluation.description
    assert Path(evaluation.metadata["data_docs"].value).exists()
    assert AFTER_SAAS not in _materialized(result)  # blocked: not published


def test_quality_implausible_kpi_warns_and_publishes(tmp_path: Path) -> None:
    from dagster_project.quality.make_suites import MART_COLUMNS

    def setup(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("create schema marts")
        columns = ", ".join(f"1.0 as {c}" for c in MART_COLUMNS["saas_metrics_monthly"]
                            if c not in ("month", "net_revenue_retention"))
        con.execute("create table marts.saas_metrics_monthly as select date '2025-01-01' "
                    f"as month, 2.5 as net_revenue_retention, {columns}")

    result = _run(tmp_path, setup)
    evaluation = _evaluations(result)[("marts/saas_metrics_monthly", MART_CHECK)]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "expect_column_values_to_be_between(net_revenue_retention)" in evaluation.description
    assert AFTER_SAAS in _materialized(result)


def test_quality_freshness_of_a_build_as_of_an_earlier_day_is_judged_on_that_day() -> None:
    from dagster_project.quality.freshness import as_unix_seconds, judged_update_time

    newest = dt.datetime(2025, 1, 9, 10)
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    assert judged_update_time(newest, None, now) == as_unix_seconds(newest)
    # as of 2025-01-10: the row is 38 hours old at the end of that day (2025-01-11 00:00)
    judged = judged_update_time(newest, "2025-01-10", now)
    assert now.timestamp() - judged == 38 * 3600


def test_quality_freshness_judgement_and_names() -> None:
    from dagster_project.defs.quality.freshness import (
        FRESH_UNTIL,
        build_freshness_checks,
        describe,
        judge,
    )

    now = 1_800_000_000.0
    passed, text, meta = judge("users", now - (20 * 86_400 + 3 * 3_600 + 59), now)
    assert not passed
    assert text == ("raw.users: overdue; newest signed_up_at is 20 days, 3 hours old, "
                    "past the limit of 3 days")
    assert FRESH_UNTIL not in meta
    passed, text, meta = judge("users", now - 3 * 86_400, now)  # exactly at the limit
    assert passed and text.endswith("is 3 days old (limit 3 days)")
    assert meta[FRESH_UNTIL].value == now  # stale from this moment on
    passed, text, _ = judge("leads", None, now)  # nothing landed: not judged, as Dagster's
    assert passed and text == "raw.leads: no rows landed yet (no newest created_at); nothing to judge"
    assert describe("releases").startswith(
        "raw.releases is fresh: its newest released_at is at most 120 days older than")
    [check] = build_freshness_checks(["users", "releases"])
    assert check.node_def.name == "landing_freshness"  # one step, named, in run logs
    assert {(s.asset_key.to_user_string(), s.name, s.description) for s in check.check_specs} == {
        ("raw/users", FRESHNESS_CHECK, describe("users")),
        ("raw/releases", FRESHNESS_CHECK, describe("releases"))}
