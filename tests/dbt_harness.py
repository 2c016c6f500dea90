"""Build the dbt project on tiny hand-made fixtures.

``build_fixture_warehouse`` writes typed ``raw.<source>`` tables (as ingestion would) from
small CSV texts, then ``run_dbt`` builds the models in-process. Fixture rows must keep the
landing contract: a row that would be quarantined fails the fixture loudly.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES, create_typed_table_sql, typed_select_sql
from dagster_project.ingest.fx import FxSettings, resolve
from dagster_project.settings import DBT_PROJECT_DIR


def build_fixture_warehouse(path: Path, fixtures: dict[str, str],
                            reporting_currency: str = "USD") -> None:
    """Create every raw table (empty unless a CSV text is given for it) in ``path``, and the
    rates resolved to ``reporting_currency`` (from the fixture's fx_rates and the seed), as
    ingestion would."""
    con = duckdb.connect(str(path))
    try:
        con.execute("set TimeZone='UTC'")
        con.execute("create schema if not exists raw")
        for name in SOURCES:
            con.execute(f"drop table if exists raw.{name}")
            con.execute(create_typed_table_sql(name, f"raw.{name}"))
        for name, text in fixtures.items():
            if name not in SOURCES:
                raise KeyError(f"unknown source {name}")
            csv_path = path.parent / f"fixture_{name}.csv"
            csv_path.write_text(_dedent_csv(text))
            cols = SOURCES[name].column_names
            con.execute(
                f"""create or replace temp table landed_fixture as
                select *, '{name}/fixture.csv' as _file,
                       row_number() over () + 1 as _line,
                       timestamp '2000-01-01' as _ingested_at
                from read_csv('{csv_path}', all_varchar=true, header=true)"""
            )
            present = {r[0] for r in con.execute("describe landed_fixture").fetchall()}
            for col in cols:
                if col not in present:
                    con.execute(f'alter table landed_fixture add column "{col}" varchar')
            typed = typed_select_sql(name, "landed_fixture")
            bad = con.execute(f"select _line, _reason from ({typed}) where _reason is not null").fetchall()
            if bad:
                raise ValueError(f"fixture {name} breaks the contract: {bad}")
            con.execute(
                f"insert into raw.{name} select {', '.join(repr(c).replace(chr(39), chr(34)) for c in cols)},"
                f" _file, _line, _ingested_at from ({typed})"
            )
        resolve(con, FxSettings(reporting_currency), force=True)
    finally:
        con.close()


def _dedent_csv(text: str) -> str:
    lines = [line.strip() for line in io.StringIO(text.strip("\n")).read().splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith("#")) + "\n"


_MANIFEST: list = []


def _parsed_manifest():
    """The project parsed once per test session (a full parse costs seconds; every fixture
    build would otherwise repeat it). Vars and the warehouse path are applied at run time."""
    if not _MANIFEST:
        from dbt.cli.main import dbtRunner

        target = Path(tempfile.mkdtemp(prefix="dbt_parse_"))
        result = dbtRunner().invoke([
            "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target / "target"), "--log-path", str(target / "logs"), "--quiet",
        ])
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        _MANIFEST.append(result.result)
    return _MANIFEST[0]


def run_dbt(path: Path, args: list[str], vars: dict | None = None) -> None:
    """Run a dbt command in-process against the warehouse at ``path``; raise on failure."""
    from dbt.cli.main import dbtRunner

    from dagster_project.compat import prepare_dbt as prepare

    prepare()  # dbt as the pipeline runs it (product-metrics-dbt)

    os.environ["DBT_DUCKDB_PATH"] = str(path)
    os.environ["DBT_DUCKDB_TEMP_DIR"] = str(path.parent / "tmp")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    full = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(path.parent / "dbt_target"),
        "--log-path", str(path.parent / "dbt_logs"),
        "--quiet",
    ]
    if vars:
        full += ["--vars", json.dumps(vars)]
    result = dbtRunner(manifest=_parsed_manifest()).invoke(full)
    if not result.success:
        failed = []
        for res in getattr(result.result, "results", None) or []:
            if str(res.status).lower().split(".")[-1] in {"error", "fail"}:
                failed.append(f"{res.node.unique_id}: {res.message}")
        detail = "; ".join(failed) or str(result.exception)
        raise RuntimeError(f"dbt {' '.join(args)} failed: {detail}"[:4000])


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
