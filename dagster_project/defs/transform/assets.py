"""The dbt project as Dagster assets: seeds, staging, intermediate and marts models, with
their dbt tests as asset checks (severity error = blocking, warn = non-blocking)."""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from dagster_project.defs.transform import spark
from dagster_project.defs.transform.project import apply_dbt_env, dbt_project, ensure_manifest
from dagster_project.resources import WarehouseResource
from dagster_project.settings import Settings

OWNER = "team:data-platform"
LAYER_GROUPS = ("staging", "intermediate", "marts")


class MetricsDbtTranslator(DagsterDbtTranslator):
    """One place decides keys and groups: ``[schema, name]`` keys, groups by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        fqn = dbt_resource_props.get("fqn", [])
        for layer in LAYER_GROUPS:
            if layer in fqn:
                return layer
        return "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]


TRANSLATOR = MetricsDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


def _failure_summary(invocation: Any) -> str:
    """Which dbt nodes failed, with dbt's message (it names the failing rows' count)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # noqa: BLE001 - artifacts may be missing when dbt could not start
        return "dbt build failed before writing run_results.json; see the run log"
    lines = []
    for res in results:
        if res.get("status") in {"fail", "error"}:
            node = res["unique_id"].split(".", 2)[-1]
            lines.append(f"{node}: {res.get('message') or res.get('status')}")
    return "; ".join(lines) or "dbt build failed; see the run log"


def _row_counts(warehouse: WarehouseResource, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, int]:
    """Row counts of the built tables, read after dbt has released the DuckDB file."""
    counts: dict[dg.AssetKey, int] = {}
    with warehouse.connect(read_only=True) as con:
        present = {
            (s, t)
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for key in keys:
            if len(key.path) == 2 and tuple(key.path) in present:
                schema, table = key.path
                counts[key] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return counts


def _mart_relations(manifest_path: Any) -> list[str]:
    manifest = json.loads(manifest_path.read_text())
    return sorted(
        f"{node['schema']}.{node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def _before_spark(context: dg.AssetExecutionContext, settings: Settings,
                  warehouse: WarehouseResource, watch: spark.Stopwatch) -> None:
    spark.check_spark_ready(settings)
    with warehouse.connect(read_only=True) as con:
        counts = spark.export_raw(con, settings.spark_raw_dir)
    watch.lap("export_raw")
    context.log.info(
        f"raw tables exported for Spark to {settings.spark_raw_dir} in "
        f"{watch.seconds['export_raw']} s: {sum(counts.values())} rows in {len(counts)} tables"
    )


def _after_spark(context: dg.AssetExecutionContext, settings: Settings,
                 warehouse: WarehouseResource, watch: spark.Stopwatch, manifest: Any) -> None:
    relations = [*_mart_relations(manifest), *spark.MIRRORED_TABLES]
    with warehouse.connect() as con:
        spark.mirror_tables(con, settings.spark_warehouse_dir, relations)
    watch.lap("mirror")
    context.log.info(
        f"{len(relations)} Spark tables mirrored into {settings.warehouse_path} for the checks "
        f"and the publish step; seconds per phase: {watch.seconds}"
    )


def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    manifest = ensure_manifest()
    project = dbt_project()
    dbt_vars = settings.dbt_vars_dict()
    on_spark = settings.engine == "spark"

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
        pool="duckdb",
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ):
        apply_dbt_env(settings)
        watch = spark.Stopwatch()
        if on_spark:
            _before_spark(context, settings, warehouse, watch)
        invocation = dbt.cli(
            ["build", "--target", settings.dbt_target, "--vars", json.dumps(dbt_vars)],
            context=context, raise_on_error=False,
        )
        # Collect first: metadata that needs the warehouse can only be read once dbt
        # (a separate process holding the DuckDB file) has finished.
        events = list(invocation.stream())
        watch.lap("dbt_build")
        if on_spark and invocation.is_successful():
            _after_spark(context, settings, warehouse, watch, manifest)
        keys = [ev.asset_key for ev in events if isinstance(ev, dg.Output | dg.AssetMaterialization) and getattr(ev, "asset_key", None)]
        output_keys = {
            ev.output_name: context.asset_key_for_output(ev.output_name)
            for ev in events
            if isinstance(ev, dg.Output)
        }
        counted = [*keys, *output_keys.values()]
        if on_spark:
            # Only the mirrored tables are current in DuckDB; the others live on Spark.
            mirrored = {tuple(r.split(".")) for r in [*_mart_relations(manifest), *spark.MIRRORED_TABLES]}
            counted = [k for k in counted if tuple(k.path) in mirrored]
        counts = _row_counts(warehouse, counted)
        for ev in events:
            if isinstance(ev, dg.Output):
                n = counts.get(output_keys[ev.output_name])
                if n is not None:
                    ev = ev.with_metadata({**ev.metadata, "dagster/row_count": n})
            yield ev
        if not invocation.is_successful():
            raise dg.Failure(
                description=f"dbt build failed: {_failure_summary(invocation)}",
                allow_retries=False,
            )

    return dbt_models
