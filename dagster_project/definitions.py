"""All Dagster definitions, gathered from the domains in ``dagster_project/defs``.

``dagster dev`` (``make ui``) loads ``defs``; ``product-metrics build`` calls
:func:`build_definitions` with the settings of its command line.
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.ingestion.assets import build_ingestion_assets
from dagster_project.defs.ingestion.sensors import build_landing_sensor
from dagster_project.defs.publish.assets import build_publish_asset
from dagster_project.defs.publish.schedules import build_failure_sensor, build_schedules
from dagster_project.defs.quality.checks import build_quality_checks
from dagster_project.defs.transform.assets import build_dbt_assets
from dagster_project.defs.transform.project import dbt_project
from dagster_project.resources import WarehouseResource
from dagster_project.settings import DBT_PROJECT_DIR, Settings, load_settings

FULL_BUILD_JOB = "full_build"


def _dbt_executable() -> str:
    """The venv's dbt, so that a build works without an activated virtualenv."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_definitions(settings: Settings) -> dg.Definitions:
    ingestion = build_ingestion_assets(settings)
    dbt_models = build_dbt_assets(settings)
    extra: list[dg.AssetsDefinition] = []
    try:
        from dagster_project.defs.reports.assets import build_report_assets

        extra = build_report_assets(settings)
    except ImportError:
        extra = []
    publish = build_publish_asset(settings, [key for a in extra for key in a.keys])
    from dagster_project.defs.reports.kpi_report import build_kpi_report_asset

    assets = [*ingestion, dbt_models, *extra, publish, build_kpi_report_asset(settings)]
    checks = build_quality_checks(settings, asset_keys=[k for a in assets for k in a.keys])
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[dg.define_asset_job(FULL_BUILD_JOB, selection=dg.AssetSelection.all())],
        schedules=build_schedules(settings, FULL_BUILD_JOB),
        sensors=[build_landing_sensor(settings, FULL_BUILD_JOB), build_failure_sensor(settings)],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": DbtCliResource(
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
