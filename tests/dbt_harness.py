"""Build the dbt project on tiny hand-made fixtures.

``build_fixture_warehouse`` writes typed ``raw.<source>`` tables (as ingestion would) from
small CSV texts, then ``run_dbt`` builds the models in-process; ``build_marts`` does both (and
stands in for seeds) for a module's fixture. Fixture rows must keep the landing contract: a
row that would be quarantined fails the fixture loudly.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from dagster_project.contract import SOURCES, create_typed_table_sql, typed_select_sql
from dagster_project.ingest.fx import FxSettings, resolve
from dagster_project.settings import DBT_PROJECT_DIR

if TYPE_CHECKING:
    import pytest


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
            _land_csv_text(con, name, text, path.parent / f"fixture_{name}.csv",
                           file=f"{name}/fixture.csv", ingested_at="2000-01-01")
        resolve(con, FxSettings(reporting_currency), force=True)
    finally:
        con.close()


def land_later_file(path: Path, source: str, file: str, csv_text: str, ingested_at: str) -> None:
    """Append rows to raw.<source> of the warehouse at ``path`` as a later landing file
    ``file``, ingested at ``ingested_at`` (after the fixture's rows)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("set TimeZone='UTC'")
        _land_csv_text(con, source, csv_text, path.parent / f"late_{source}.csv",
                       file=file, ingested_at=ingested_at)
    finally:
        con.close()


def _land_csv_text(con: duckdb.DuckDBPyConnection, source: str, csv_text: str, csv_path: Path,
                   file: str, ingested_at: str) -> None:
    """Insert the rows of a CSV text into raw.<source>, typed as ingestion types them, as
    lines 2.. of the landing file ``file``; a row that would be quarantined raises."""
    csv_path.write_text(_dedent_csv(csv_text))
    cols = SOURCES[source].column_names
    con.execute(
        f"""create or replace temp table landed_fixture as
        select *, '{file}' as _file,
               row_number() over () + 1 as _line,
               timestamp '{ingested_at}' as _ingested_at
        from read_csv('{csv_path}', all_varchar=true, header=true)"""
    )
    present = {r[0] for r in con.execute("describe landed_fixture").fetchall()}
    for col in cols:
        if col not in present:
            con.execute(f'alter table landed_fixture add column "{col}" varchar')
    typed = typed_select_sql(source, "landed_fixture")
    bad = con.execute(f"select _line, _reason from ({typed}) where _reason is not null").fetchall()
    if bad:
        raise ValueError(f"fixture {source} breaks the contract: {bad}")
    quoted = ", ".join(f'"{c}"' for c in cols)
    con.execute(f"insert into raw.{source} select {quoted}, _file, _line, _ingested_at from ({typed})")


def load_seed(path: Path, name: str, csv_text: str) -> None:
    """Stand in for a seed: the table seeds.<name> from a CSV text (the build must exclude
    the seed itself)."""
    csv_path = path.parent / f"seed_{name}.csv"
    csv_path.write_text(_dedent_csv(csv_text))
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists seeds")
        con.execute(f"create or replace table seeds.{name} as select * from read_csv('{csv_path}', header=true)")
    finally:
        con.close()


def build_marts(tmp_path_factory: pytest.TempPathFactory, name: str, fixtures: dict[str, str], dbt_args: list[str],
                vars: dict | None = None, seeds: dict[str, str] | None = None) -> Path:
    """A warehouse of its own in a new temp folder ``name``: the fixture CSV texts as raw
    tables (build_fixture_warehouse), each of ``seeds`` ({seed: CSV text}) standing in for
    that seed (load_seed), then ``dbt <dbt_args>`` run on it with ``vars``. Returns its path."""
    path = tmp_path_factory.mktemp(name) / "warehouse.duckdb"
    build_fixture_warehouse(path, fixtures)
    for seed, text in (seeds or {}).items():
        load_seed(path, seed, text)
    run_dbt(path, dbt_args, vars)
    return path


def _dedent_csv(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
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


def broken_rules(tmp_path_factory: pytest.TempPathFactory, name: str,
                 make_tables: Callable[[Path], None], tests: list[str]) -> tuple[Path, str]:
    """A warehouse whose hand-made tables ``make_tables`` writes, and dbt's failure message
    from running ``tests`` on it with their failing rows stored (they must fail)."""
    import pytest

    path = tmp_path_factory.mktemp(name) / "warehouse.duckdb"
    make_tables(path)
    with pytest.raises(RuntimeError) as failure:
        run_dbt(path, ["test", "--store-failures", "--select", *tests])
    return path, str(failure.value)


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
