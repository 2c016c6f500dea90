"""The dbt project as Dagster sees it, and the environment dbt runs with."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

from dagster_project.errors import MetricsError
from dagster_project.settings import DBT_PROJECT_DIR, Settings

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_project() -> DbtProject:
    """The project, its manifest parsed when stale. Not ``DbtProject.prepare_if_dev()``: under
    `dagster dev` that runs the ``dbt`` found on PATH, which is not there unless the
    virtualenv is activated; ``ensure_manifest`` parses in-process."""
    ensure_manifest()
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def apply_dbt_env(settings: Settings) -> None:
    """dbt reads its connection from the profile's env_var() calls; set them from settings.

    dbt runs as a child process that inherits this environment.
    """
    os.environ["DBT_DUCKDB_PATH"] = str(settings.warehouse_path)
    os.environ["DBT_DUCKDB_MEMORY_LIMIT"] = settings.duckdb_memory_limit
    os.environ["DBT_DUCKDB_TEMP_DIR"] = str(settings.duckdb_temp_dir)
    os.environ["DBT_THREADS"] = str(settings.duckdb_threads)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.update(settings.dbt_env())
    if settings.engine == "spark":
        from dagster_project.transform.spark import spark_env

        os.environ.update(spark_env(settings))


def _newest_source_mtime() -> float:
    newest = 0.0
    for folder in ("models", "macros", "tests"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.suffix in {".sql", ".yml", ".yaml"}:
                newest = max(newest, path.stat().st_mtime)
    for path in (DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"):
        newest = max(newest, path.stat().st_mtime)
    for path in (DBT_PROJECT_DIR.parent / "seeds").glob("*.csv"):
        newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest(force: bool = False) -> Path:
    """Run `dbt parse` when the manifest is missing or older than the project files."""
    if (
        not force
        and MANIFEST_PATH.exists()
        and MANIFEST_PATH.stat().st_mtime >= _newest_source_mtime()
    ):
        return MANIFEST_PATH
    from dbt.cli.main import dbtRunner

    from dagster_project.compat import prepare_dbt

    prepare_dbt()  # the same parse hash as the builds' dbt runs
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--quiet",
        ]
    )
    if not result.success or not MANIFEST_PATH.exists():
        raise MetricsError(
            f"dbt could not parse the project in {DBT_PROJECT_DIR}: {result.exception}"
        )
    return MANIFEST_PATH


def mart_names(manifest: Mapping | None = None) -> list[str]:
    """The published marts (dbt models in schema ``marts``), sorted, from ``manifest`` (the
    parsed dbt manifest; read, and made when missing, when not given)."""
    if manifest is None:
        manifest = json.loads(ensure_manifest().read_text())
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["schema"] == "marts")
