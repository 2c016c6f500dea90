"""dbt's partial parse survives the values the pipeline passes in the environment.

The slice of the incremental models (DBT_MIN_DATE, DBT_MAX_DATE, DBT_EXTRA_DAYS) changes
every night and DBT_AS_OF_DATE with every as-of build. dbt records each environment
variable read while it parses and re-parses every file that read one whose value changed,
in each of the build's two dbt steps. ``run_param`` (macros/run_param.sql) reads them at
run time only, so a parse records none of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgpack

from dagster_project.settings import DBT_PROJECT_DIR

PIPELINE_ENV = ("DBT_MIN_DATE", "DBT_MAX_DATE", "DBT_EXTRA_DAYS", "DBT_AS_OF_DATE", "DBT_CHECK_SLICE")


def test_a_parse_records_none_of_the_run_time_settings(tmp_path: Path) -> None:
    target = tmp_path / "target"
    env = {**os.environ, "DBT_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
           "DBT_DUCKDB_TEMP_DIR": str(tmp_path / "spill"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DBT_MIN_DATE": "2025-01-01", "DBT_MAX_DATE": "2025-01-02",
           "DBT_EXTRA_DAYS": "2024-12-30", "DBT_AS_OF_DATE": "2025-01-02",
           "DBT_CHECK_SLICE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project.dbt_cli", "parse", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(target), "--log-path", str(tmp_path), "--quiet"],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    parse = msgpack.unpackb((target / "partial_parse.msgpack").read_bytes(),
                            strict_map_key=False)
    recorded = set(parse.get("env_vars") or {})
    for source_file in parse["files"].values():
        recorded |= set(source_file.get("env_vars") or [])
    assert not recorded & set(PIPELINE_ENV), recorded
