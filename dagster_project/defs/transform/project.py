"""The dbt project as Dagster sees it, and the environment dbt runs with."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from dagster_project.errors import MetricsError
from dagster_project.settings import DBT_PROJECT_DIR, Settings

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


class LeanDbtCliResource(DbtCliResource):
    """DbtCliResource without two fixed costs of every dbt step (dagster-dbt 0.29): a
    ``dbt --version`` subprocess (the version of the venv's dbt-core is known) and an
    in-process dbt adapter, which only serves dagster-dbt's ``fetch_row_counts`` /
    ``fetch_column_metadata`` (we count rows ourselves, after dbt released the file).
    Together about 4 s of CPU per dbt step on these machines."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


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
        from dagster_project.defs.transform.spark import spark_env

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

    from dagster_project.dbt_cli import prepare

    prepare()  # the same parse hash as the builds' dbt runs
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
