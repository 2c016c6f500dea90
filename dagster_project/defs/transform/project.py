"""The dbt project as Dagster sees it, and the environment dbt runs with."""

from __future__ import annotations

import os

from dagster_dbt import DbtProject

from dagster_project.settings import DBT_PROJECT_DIR, Settings
from dagster_project.transform.manifest import (  # noqa: F401 (re-exported)
    MANIFEST_PATH,
    SEMANTIC_MANIFEST_PATH,
    ensure_manifest,
    mart_names,
)


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
    # dbt's own log file (target/<step>/dbt.log) at info, as its output the build's log
    # keeps: at debug (dbt's default) it is every SQL statement, connection and macro call,
    # ~6,000 JSON lines a build, each serialised and scrubbed of secrets by dbt's logger on
    # the threads that run the models (~0.8 s of a small build's dbt step). Set
    # DBT_LOG_LEVEL_FILE=debug to have them.
    os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")
    os.environ.update(settings.dbt_env())
    if settings.engine == "spark":
        from dagster_project.transform.spark import spark_env

        os.environ.update(spark_env(settings))
