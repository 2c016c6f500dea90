"""The hand-over between DuckDB and Spark, without Spark: the raw export and the mirror."""

import contextlib
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest

from dagster_project.contract import SOURCES, create_typed_table_sql
from dagster_project.errors import MetricsError
from dagster_project.ingest.fx import FxSettings, resolve
from dagster_project.transform import spark as spark_module
from dagster_project.transform.spark import (
    RAW_TABLES,
    ExportMarker,
    export_raw,
    mirror_tables,
    table_dir,
)


@pytest.fixture
def con(file_warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con = file_warehouse
    con.execute("set TimeZone='UTC'")
    con.execute("create schema raw")
    for name in SOURCES:
        con.execute(create_typed_table_sql(name, f"raw.{name}"))
    con.execute(
        "insert into raw.fx_rates (rate_date, currency, rate_to_reporting, _file, _line, _ingested_at) "
        "values (date '2024-01-01', 'EUR', 1.1, 'fx_rates/a.csv', 2, timestamp '2024-01-02 03:04:05.123456')"
    )
    resolve(con, FxSettings("USD"))
    return con


def test_every_raw_table_is_exported_with_its_columns_even_when_empty(con, tmp_path: Path) -> None:
    raw_dir = tmp_path / "spark" / "raw"
    counts = export_raw(con, raw_dir)
    assert set(counts) == set(RAW_TABLES) and counts["fx_rates"] == 1 and counts["users"] == 0
    assert counts["fx_rates_to_reporting"] > 1
    for name in RAW_TABLES:
        got = [c for c, *_ in con.execute(f"describe select * from '{raw_dir}/{name}/data.parquet'").fetchall()]
        want = [c for c, *_ in con.execute(f"describe raw.{name}").fetchall()]
        assert got == want
    # naive UTC timestamps keep their microseconds and stay naive (Spark reads TIMESTAMP_NTZ)
    (ts, kind), = con.execute(
        f"select _ingested_at, typeof(_ingested_at) from '{raw_dir}/fx_rates/data.parquet'").fetchall()
    assert str(ts) == "2024-01-02 03:04:05.123456" and kind == "TIMESTAMP"


def test_a_new_export_replaces_the_old_one_whole(con, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    export_raw(con, raw_dir)
    (raw_dir / "fx_rates" / "stale.parquet").write_text("left over")
    con.execute("delete from raw.fx_rates")
    assert export_raw(con, raw_dir)["fx_rates"] == 0
    assert sorted(p.name for p in (raw_dir / "fx_rates").iterdir()) == ["data.parquet"]
    assert sorted(p.name for p in raw_dir.iterdir()) == sorted(RAW_TABLES)  # no .new/.old left


def test_an_export_of_some_tables_leaves_the_others_as_they_were(con, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    export_raw(con, raw_dir)
    con.execute("delete from raw.fx_rates")
    assert export_raw(con, raw_dir, ["users"]) == {"users": 0}
    kept = con.execute(f"select count(*) from '{raw_dir}/fx_rates/data.parquet'").fetchone()[0]
    assert kept == 1  # not re-exported: still the first export's row
    with pytest.raises(MetricsError, match="raw.nope is not a raw table"):
        export_raw(con, raw_dir, ["nope"])


def test_the_marker_counts_only_this_runs_exports(tmp_path: Path) -> None:
    first = ExportMarker(tmp_path, "run-1")
    assert first.exported() == set()
    first.add(["product_events"])
    first.add(["users", "product_events"])
    assert first.exported() == {"product_events", "users"}
    assert ExportMarker(tmp_path, "run-2").exported() == set()  # a later run exports again
    (tmp_path / ".exported_by_run").write_text("run-1")  # the old marker format
    assert first.exported() == set()


def test_mirror_copies_spark_table_files_into_duckdb(con, tmp_path: Path) -> None:
    wh = tmp_path / "warehouse"
    folder = table_dir(wh, "marts.nps_monthly")
    assert folder == wh / "marts.db" / "nps_monthly"
    folder.mkdir(parents=True)
    for i, rows in enumerate([[("2024-01-01", 3)], [("2024-02-01", 5)]]):
        con.execute(
            f"copy (select cast(m as date) as month, r as responses from (values {rows[0]}) t(m, r)) "
            f"to '{folder}/part-0000{i}.parquet' (format parquet)")
    (folder / "_SUCCESS").write_text("")
    assert mirror_tables(con, wh, ["marts.nps_monthly"]) == {"marts.nps_monthly": 2}
    assert con.execute("select sum(responses) from marts.nps_monthly").fetchone()[0] == 8
    with pytest.raises(MetricsError, match="marts.missing has no Parquet files"):
        mirror_tables(con, wh, ["marts.missing"])


# --- the Spark driver dying during a dbt step (issue: JIT code cache) --------------------

CODE_CACHE_LOG = """\
26/12/04 02:00:00 ERROR Executor: Exception in task 0.0 in stage 133.0 (TID 149)
java.lang.VirtualMachineError: Out of space in CodeCache for adapters
\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)
26/12/04 02:00:00 ERROR SparkUncaughtExceptionHandler: Uncaught exception in thread Thread[x]
"""
REFUSED = "Runtime Error\n  [Errno 111] Connection refused"


def _settings(tmp_path: Path):
    from dagster_project.settings import load_settings

    return load_settings(env={}, base_dir=tmp_path)


def test_a_dead_driver_is_named_by_its_first_jvm_error(tmp_path: Path) -> None:
    from dagster_project.transform.spark import driver_errors_log, driver_stopped

    settings = _settings(tmp_path)
    log = driver_errors_log(settings)
    log.parent.mkdir(parents=True)
    log.write_text(CODE_CACHE_LOG)
    assert driver_stopped(settings, ["ok", REFUSED]) == (
        "the Spark driver stopped: java.lang.VirtualMachineError: Out of space in CodeCache "
        "for adapters")


def test_a_driver_killed_without_a_word_is_still_named(tmp_path: Path) -> None:
    from dagster_project.transform.spark import driver_stopped

    said = driver_stopped(_settings(tmp_path), [REFUSED])
    assert said is not None and said.startswith("the Spark driver stopped: it ended without")
    # what dbt-spark's session says when the JVM behind py4j is gone (seen with SIGKILL)
    gone = ("Runtime Error in model int_as_of_date (models/intermediate/int_as_of_date.sql)\n"
            "  Runtime Error\n    org.apache.spark.sql.classic.SparkSession$.MODULE$ does not "
            "exist in the JVM")
    assert driver_stopped(_settings(tmp_path), [gone]) == said


def test_a_failed_test_on_a_living_driver_is_not_a_dead_driver(tmp_path: Path) -> None:
    from dagster_project.transform.spark import driver_errors_log, driver_stopped

    settings = _settings(tmp_path)
    log = driver_errors_log(settings)
    log.parent.mkdir(parents=True)
    log.write_text(CODE_CACHE_LOG)  # an error logged, but every node reached the driver
    assert driver_stopped(settings, ["Got 3 results, configured to fail if != 0"]) is None


def test_the_in_process_driver_gets_a_code_cache_sized_for_generated_code() -> None:
    """C1 only (TieredStopAtLevel=1) shrinks the JVM's code cache to 48 MB; a dbt build's
    generated classes filled it at random. Both the build and profiles.yml's default say so."""
    from dagster_project.settings import DBT_PROJECT_DIR
    from dagster_project.transform.spark import JAVA_OPTIONS

    assert "-XX:TieredStopAtLevel=1" in JAVA_OPTIONS
    assert "-XX:ReservedCodeCacheSize=384m" in JAVA_OPTIONS
    profiles = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert f"'DBT_SPARK_JAVA_OPTIONS', '{JAVA_OPTIONS}'" in profiles


def test_a_stack_frame_naming_an_error_method_is_not_a_cause(tmp_path: Path) -> None:
    from dagster_project.transform.spark import driver_errors_log, driver_stopped

    settings = _settings(tmp_path)
    log = driver_errors_log(settings)
    log.parent.mkdir(parents=True)
    log.write_text("26/12/04 02:00:00 ERROR SparkExecuteStatement: query failed\n"
                   "\tat org.apache.spark.sql.execution.QueryExecution$.withInternalError("
                   "QueryExecution.scala:927)\n")
    said = driver_stopped(settings, [REFUSED])
    assert said is not None and said.startswith("the Spark driver stopped: it ended without")


# --- which raw tables each dbt step exports (the daily step may start mid-ingestion) -----

class _Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @contextlib.contextmanager
    def connect(self, read_only: bool = False):
        yield self.con


def _step(run_id: str, upstream: list[str]) -> SimpleNamespace:
    keys = {dg.AssetKey(["raw", t]) for t in upstream} | {dg.AssetKey(["staging", "stg_x"])}
    return SimpleNamespace(run=SimpleNamespace(run_id=run_id),
                           assets_def=SimpleNamespace(dependency_keys=keys),
                           log=SimpleNamespace(info=lambda message: None))


def test_the_dbt_step_exports_every_raw_table_once_per_run(
        con, tmp_path: Path, monkeypatch) -> None:
    """The dbt step runs after every ingestion asset of its run: it exports every raw table
    as it is then, a retry in the same run exports nothing again, and the next run exports
    afresh (an earlier export must never stand in for new rows: that emptied every revenue
    mart on Spark once)."""
    from dagster_project.defs.transform import assets
    from dagster_project.settings import Settings

    monkeypatch.setattr(spark_module, "check_spark_ready", lambda settings: None)
    settings = Settings(spark_dir=tmp_path / "spark")
    warehouse = _Warehouse(con)
    con.execute("insert into raw.product_events by name select 'u1' as user_id")
    con.execute("insert into raw.users by name select 'u1' as user_id")
    assets._before_spark(_step("run-1", []), settings, warehouse, spark_module.Stopwatch())
    raw_dir = settings.spark_raw_dir
    assert sorted(p.name for p in raw_dir.iterdir() if p.is_dir()) == sorted(RAW_TABLES)
    assert ExportMarker(raw_dir, "run-1").exported() == set(RAW_TABLES)
    exported = {t: con.execute(f"select count(*) from '{raw_dir}/{t}/data.parquet'").fetchone()[0]
                for t in ("users", "product_events")}
    assert exported == {"users": 1, "product_events": 1}

    # a retry of the step in the same run: nothing exported again
    con.execute("insert into raw.users by name select 'u2' as user_id")
    assets._before_spark(_step("run-1", []), settings, warehouse, spark_module.Stopwatch())
    assert con.execute(f"select count(*) from '{raw_dir}/users/data.parquet'").fetchone()[0] == 1

    # the next run exports again, even when the marker names the tables
    con.execute("insert into raw.product_events by name select 'u2' as user_id")
    assets._before_spark(_step("run-2", []), settings, warehouse, spark_module.Stopwatch())
    assert con.execute(
        f"select count(*) from '{raw_dir}/product_events/data.parquet'").fetchone()[0] == 2
