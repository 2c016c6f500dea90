"""All Dagster definitions, gathered from the domains in ``dagster_project/defs``.

``dagster dev`` (``make ui``) loads ``defs``; ``product-metrics build`` calls
:func:`build_definitions` with the settings of its command line.
"""

from __future__ import annotations

import warnings

import dagster as dg

from dagster_project.compat import (
    INTERNALS_AT_START_UP,
    LeanDbtCliResource,
    check,
    held_connection_event_log,
    pooled_sqlite_event_log,
    unstamped_in_memory_storage,
)
from dagster_project.defs.ingest.assets import build_ingestion_assets
from dagster_project.defs.ingest.sensors import build_landing_sensor
from dagster_project.defs.publish.assets import build_publish_asset
from dagster_project.defs.publish.schedules import build_failure_sensor, build_schedules
from dagster_project.defs.quality.checks import build_quality_checks
from dagster_project.defs.quality.freshness import build_freshness_sensor
from dagster_project.defs.reports.assets import build_report_assets
from dagster_project.defs.transform.assets import build_dbt_assets
from dagster_project.defs.transform.project import dbt_project
from dagster_project.resources import WarehouseResource
from dagster_project.settings import DBT_PROJECT_DIR, Settings, load_settings

BUILD_JOB = "daily_build"


def _dbt_executable() -> str:
    """The venv's dbt, so that a build works without an activated virtualenv: our
    ``product-metrics-dbt`` (dbt whose partial parse survives a change of warehouse file,
    see dagster_project/dbt_cli.py) when installed, else dbt itself."""
    import shutil
    import sys
    from pathlib import Path

    for name in ("product-metrics-dbt", "dbt"):
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    return shutil.which("product-metrics-dbt") or shutil.which("dbt") or "dbt"


def build_definitions(settings: Settings) -> dg.Definitions:
    # the library versions our patches of their internals target
    check(internals=INTERNALS_AT_START_UP)
    # Dagster's event logs without a new engine or connection per statement.
    pooled_sqlite_event_log()
    held_connection_event_log()
    unstamped_in_memory_storage()
    # backfill_policy and code references are marked beta/preview; their warnings would
    # be printed by every command that loads the definitions.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        return _build_definitions(settings)


def _build_definitions(settings: Settings) -> dg.Definitions:
    ingestion = build_ingestion_assets(settings)
    dbt_models = build_dbt_assets(settings)
    extra = build_report_assets(settings)
    publish = build_publish_asset(settings, [key for a in extra for key in a.keys])
    from dagster_project.defs.reports.kpi_report import build_kpi_report_asset

    # dbt assets point at their SQL files already; the Python ones get their source here.
    ingestion, (publish,) = (dg.with_source_code_references(ingestion),
                             dg.with_source_code_references([publish]))
    assets = [*ingestion, *dbt_models, *extra, publish]
    if settings.kpi_report:  # METRICS_KPI_REPORT=false: the marts only
        assets.append(build_kpi_report_asset(settings))
    checks = build_quality_checks(settings, asset_keys=[k for a in assets for k in a.keys])
    build_job = dg.define_asset_job(
        BUILD_JOB,
        selection=dg.AssetSelection.all(),
        description=(
            "Ingest every new landing file, rebuild the run's days of the daily facts and "
            "every event and user-day the new files touched (late data included), rebuild "
            "the marts, run every check, publish. Run one partition range per run "
            "(single-run backfill); full_refresh in the run config of dbt_models "
            "rebuilds the facts from all raw rows."
        ),
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[build_job],
        schedules=build_schedules(settings, BUILD_JOB),
        sensors=[build_landing_sensor(settings, BUILD_JOB), build_failure_sensor(settings),
                 build_freshness_sensor(checks)],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": LeanDbtCliResource(
                project_dir=dbt_project(),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=_dbt_executable(),
            ),
        },
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded lazily by `dagster dev` / `dg`; settings come from METRICS_* variables."""
    return build_definitions(load_settings())
