"""The publish asset: downstream of every mart (and so of every blocking check), it swaps
the checked marts into the serving database."""


import json
import shutil

import dagster as dg

from dagster_project import __version__
from dagster_project.defs.transform.project import MANIFEST_PATH
from dagster_project.publish.publisher import publish
from dagster_project.resources import WarehouseResource
from dagster_project.settings import DBT_BUILD_TARGET, Settings

PUBLISH_KEY = dg.AssetKey(["serving", "published_marts"])


def mart_keys_from_manifest() -> list[dg.AssetKey]:
    from dagster_project.defs.transform.project import mart_names

    return [dg.AssetKey(["marts", name])
            for name in mart_names(json.loads(MANIFEST_PATH.read_text()))]


def mart_comments() -> dict[str, tuple[str, dict[str, str]]]:
    """Each mart's description and its columns', from the dbt YAML (as docs/MARTS.md)."""
    from dagster_project.marts_doc import load_marts

    return {f"marts.{m.name}": (m.description, dict(m.columns)) for m in load_marts()}


def build_publish_asset(settings: Settings, extra_deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISH_KEY,
        group_name="publish",
        deps=[*mart_keys_from_manifest(), *extra_deps],
        description=(
            "The serving database (METRICS_SERVING_PATH): every table of schema marts and the "
            "ops tables (without raw_record), swapped in atomically once every upstream check "
            "passed; Parquet copies beside it."
        ),
        kinds={"duckdb", "parquet"},
        owners=["team:data-platform"],
        pool="duckdb",
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect(read_only=True) as con:
            as_of = con.execute(
                "select max(as_of_date) from intermediate.int_as_of_date"
            ).fetchone()[0]
            summary = publish(
                con,
                settings.serving_path,
                settings.parquet_dir,
                build_info={
                    "as_of_date": str(as_of),
                    "version": __version__,
                    "run_id": context.run.run_id,
                    "reporting_currency": settings.reporting_currency,
                    "reporting_timezone": settings.reporting_timezone,
                },
                comments=mart_comments(),
                storage_version=settings.serving_storage_version,
            )
        # The definitions of the semantic layer as this build parsed them (its dbt vars), beside
        # the data they describe.
        built = DBT_BUILD_TARGET / "semantic_manifest.json"
        if built.exists():
            settings.semantic_manifest_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = settings.semantic_manifest_path.with_suffix(".json.tmp")
            shutil.copyfile(built, tmp)
            tmp.replace(settings.semantic_manifest_path)
        context.log.info(summary.describe())
        table = "\n".join(f"| {t} | {n} |" for t, n in summary.tables.items())
        return dg.MaterializeResult(
            metadata={
                "serving_path": dg.MetadataValue.path(str(settings.serving_path)),
                "parquet_dir": dg.MetadataValue.path(str(settings.parquet_dir)),
                "as_of_date": str(as_of),
                "tables": dg.MetadataValue.md("| table | rows |\n|---|---|\n" + table),
                "dagster/row_count": sum(summary.tables.values()),
            }
        )

    return published_marts
