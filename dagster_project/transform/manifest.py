"""The dbt project's parsed artifacts: ``manifest.json`` and ``semantic_manifest.json``,
made by an in-process ``dbt parse`` when missing or older than the project's files."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from dagster_project.errors import MetricsError
from dagster_project.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# The semantic layer's definitions (semantic models, metrics), written by the same parse.
SEMANTIC_MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "semantic_manifest.json"


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
