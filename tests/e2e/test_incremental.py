"""The nightly run after a full build: one more day lands, the next build is incremental,
processes only that day's partition plus the look-back (and the late events the new
files hold), and publishes exactly what a full rebuild gives."""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.build import run_build
from dagster_project.contract import SOURCES
from dagster_project.generate import land_next_day
from dagster_project.ingest import ingest_source
from dagster_project.ingest.kept import copy_warehouse
from dagster_project.warehouse_lock import lock_path
from tests.dbt_harness import run_dbt
from tests.e2e.conftest import DEMO, settings_for

NEXT_DAY = DEMO["start"] + dt.timedelta(days=DEMO["days"])  # 2024-08-28
WINDOW = (NEXT_DAY - dt.timedelta(days=3), NEXT_DAY)  # look-back of 3 days (the default)
EVENTS_GLOB = "product_events/**/*.parquet"


def _copy_build(built, root: Path):
    settings, _ = built
    shutil.copytree(settings.landing_dir, root / "landing")
    (root / "data").mkdir(parents=True)
    copy_warehouse(settings.warehouse_path, root / "data" / "warehouse.duckdb")
    shutil.copy(settings.serving_path, root / "data" / "serving.duckdb")
    # (the KPI report is test_report's: these builds publish the marts only)
    return settings_for(root, landing_dir=root / "landing",
                        warehouse_path=root / "data" / "warehouse.duckdb",
                        serving_path=root / "data" / "serving.duckdb", kpi_report=False)


def _max_batch(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select max(batch_id) from ops.ingestion_batches").fetchall()[0][0]
    finally:
        con.close()


def _start_reader(serving: Path, done: Path) -> subprocess.Popen:
    """A BI tool holding the served file open: it counts the published ingestion log's
    rows (the night's files add to it) every 0.2 s until
    ``done`` appears, and fails if the count ever changes under it."""
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, os, time
            con = duckdb.connect({str(serving)!r}, read_only=True)
            n0 = con.execute("select count(*) from ops.ingestion_log").fetchone()[0]
            print("open", flush=True)
            deadline = time.time() + 600
            while time.time() < deadline and not os.path.exists({str(done)!r}):
                n = con.execute("select count(*) from ops.ingestion_log").fetchone()[0]
                assert n == n0, (n, n0)
                time.sleep(0.2)
            print("reader ok", n0, flush=True)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    assert reader.stdout.readline().strip() == "open"
    return reader


def _second_build_when_locked(settings, seen: dict) -> threading.Thread:
    """A second `product-metrics build` on the same warehouse, started as soon as the first
    (this process) holds the warehouse lock; ``seen`` gets its exit code, stderr and
    seconds. The thread only waits and starts a process (nothing to import)."""

    def second() -> None:
        lock = lock_path(settings.warehouse_path)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if lock.exists() and f'"pid": {os.getpid()},' in lock.read_text():
                break
            time.sleep(0.05)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "dagster_project.cli", "build"], capture_output=True,
            text=True, timeout=300, check=False,
            env={**os.environ, "METRICS_LANDING_DIR": str(settings.landing_dir),
                 "METRICS_WAREHOUSE_PATH": str(settings.warehouse_path),
                 "METRICS_SERVING_PATH": str(settings.serving_path)},
        )
        seen.update(code=done.returncode, stderr=done.stderr,
                    seconds=time.monotonic() - started)

    thread = threading.Thread(target=second, name="second-build", daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def nightly(built, tmp_path_factory: pytest.TempPathFactory):
    """(settings, report, batch id before the night, reader, second) of the run after the
    next day lands, built while a reader holds the served file open and a second build
    tries to start; reader is (its output, the served file's inode before, after)."""
    root = tmp_path_factory.mktemp("nightly")
    settings = _copy_build(built, root)
    before = _max_batch(settings.warehouse_path)
    land_next_day(settings.landing_dir, **DEMO)
    reader = _start_reader(settings.serving_path, root / "done")
    second: dict = {}
    try:
        inode_before = settings.serving_path.stat().st_ino
        contender = _second_build_when_locked(settings, second)
        report = run_build(settings)
        contender.join(timeout=300)
        inode_after = settings.serving_path.stat().st_ino
        (root / "done").write_text("x")
        out, _ = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert report.published, report.describe()
    # METRICS_KPI_REPORT=false: published, no report written, and the summary says so
    assert report.report_path == "" and "KPI report:       not written" in report.describe()
    return settings, report, before, (reader.returncode, out, inode_before, inode_after), second


def test_a_second_build_on_the_same_warehouse_stops_at_once_naming_the_first(nightly) -> None:
    """One writer at a time: the second build exits 2 within seconds (its own start-up
    included), names the holder, and the first publishes (the fixture asserts it)."""
    settings, report, *_, second = nightly
    assert second["code"] == 2, second
    assert f"another build is writing the working warehouse {settings.warehouse_path}" in (
        second["stderr"])
    assert f"pid {os.getpid()} on {socket.gethostname()}" in second["stderr"]
    assert "Traceback" not in second["stderr"]
    assert second["seconds"] < 20
    assert report.published


def test_a_reader_holding_the_served_file_neither_blocks_nor_sees_the_swap(nightly) -> None:
    """Write-audit-publish: the build swaps a new file in (a reader with the old one open
    does not block it) and the reader keeps its consistent view to the end."""
    settings, _, _, (code, out, inode_before, inode_after), _ = nightly
    assert code == 0 and out.startswith("reader ok"), out
    assert inode_after != inode_before
    (n_before,) = (int(out.split()[-1]),)
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        (n_after,), = con.execute("select count(*) from ops.ingestion_log").fetchall()
    finally:
        con.close()
    landed = sum(1 for p in settings.landing_dir.rglob("*") if p.is_file())
    # the reader saw the old file to the end; the new one logs every landed file
    assert n_before < n_after == landed


def _landed(landing: Path, sql: str) -> list[tuple]:
    """Hand computation straight from the landing files (no pipeline code)."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone='UTC'")
        con.execute(f"create view everything as select * from read_parquet('{landing}/{EVENTS_GLOB}')")
        con.execute("create view new_day as select * from read_parquet("
                    f"'{landing}/product_events/dt={NEXT_DAY}/events.parquet')")
        sql = sql.replace("$1", f"date '{WINDOW[0]}'").replace("$2", f"date '{WINDOW[1]}'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_next_run_processes_only_the_new_day_and_the_look_back(nightly) -> None:
    settings, report, before, _, _ = nightly
    assert report.partitions == (WINDOW[0].isoformat(), WINDOW[1].isoformat())
    inc = report.incremental
    assert inc["mode"] == "incremental", inc
    assert (inc["min_date"], inc["max_date"]) == report.partitions
    # The first build ran the incremental models' rules tests on whole tables and they
    # passed: this run's look at its slice only.
    assert inc["checks_slice"] is True, inc
    # The slice starts after the last batch the previous build's daily step saw; batches of
    # other sources may follow it in that build (they ingest beside the step), but no
    # product_events batch does.
    assert inc["changes_after"] <= before
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        unseen = con.execute("select count(*) from ops.ingestion_batches where source = "
                             "'product_events' and batch_id > ? and batch_id <= ?",
                             [inc["changes_after"], before]).fetchall()[0][0]
        newest = con.execute("select max(batch_id) from ops.ingestion_batches "
                             "where source = 'product_events'").fetchall()[0][0]
    finally:
        con.close()
    assert unseen == 0
    # ... and it reaches this night's product_events batch.
    assert before < newest <= inc["changes_through"] <= _max_batch(settings.warehouse_path)

    (new_events, late, window_events), = _landed(settings.landing_dir, """
        select (select count(distinct event_id) from new_day),
               (select count(*) from new_day where cast(occurred_at as date) < $1),
               (select count(*) from everything where cast(occurred_at as date) between $1 and $2)""")
    late_days = [str(d) for (d,) in _landed(settings.landing_dir, """
        select distinct cast(occurred_at as date) as d from new_day
        where cast(occurred_at as date) < $1 order by d""")]
    assert late > 0 and late_days  # the new day brings events older than the look-back
    assert inc["changed_events"] == new_events  # only the new file's events were touched
    assert inc["changed_outside_window"] == late
    assert inc["extra_days"] == ", ".join(late_days)
    assert inc["window_events"] == window_events
    # rows dbt wrote: whole days, those of the window and the late events' days, no other
    listed = ", ".join(f"date '{d}'" for d in late_days)
    days = f"cast(occurred_at as date) between $1 and $2 or cast(occurred_at as date) in ({listed})"
    (events, user_days), = _landed(settings.landing_dir, f"""
        select count(distinct event_id),
               count(distinct case when user_id is not null
                     then (user_id, cast(occurred_at as date)) end)
        from everything where {days}""")
    assert inc["rows_written/stg_product__events"] == events
    assert inc["rows_written/int_user_activity_daily"] == user_days

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        (mode, rows), = con.execute(
            "select mode, rows from ops.ingestion_batches where source = 'product_events' "
            "and batch_id > ?", [before]).fetchall()
    finally:
        con.close()
    (new_rows,), = _landed(settings.landing_dir, "select count(*) from new_day")
    assert (mode, rows) == ("incremental", new_rows)  # ingestion re-derived the new file only


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def _same(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if not (math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)
                        or (math.isnan(x) and math.isnan(y))):
                    return False
            elif x != y:
                return False
    return True


def test_the_published_marts_equal_a_full_rebuild(nightly, tmp_path: Path) -> None:
    settings, _, _, _, _ = nightly
    # The full rebuild: every source derived again from its landed rows, every dbt model
    # rebuilt from scratch (the incremental ones with --full-refresh).
    # named as the harness's parsed manifest expects (dbt-duckdb: catalog = file stem)
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"
    rebuilt.parent.mkdir()
    copy_warehouse(settings.warehouse_path, rebuilt)
    con = duckdb.connect(str(rebuilt))
    try:
        for source in SOURCES:
            assert ingest_source(con, settings.landing_dir, source, rederive=True).derive_mode == "full"
    finally:
        con.close()
    run_dbt(rebuilt, ["run", "--full-refresh"], settings.dbt_vars_dict())

    con = duckdb.connect(str(rebuilt))
    try:
        con.execute(f"attach '{settings.serving_path}' as served (read_only true)")
        con.execute(f"attach '{settings.warehouse_path}' as nightly (read_only true)")
        marts = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'served' "
            "and table_schema = 'marts' order by 1").fetchall()]
        assert len(marts) > 20
        different = [t for t in marts
                     if not _same(_rows(con, f"served.marts.{t}"), _rows(con, f"marts.{t}"))]
        assert different == []
        # and the incremental derive left raw and the quarantine as a full derive does
        for table in ("raw.product_events", "staging.stg_product__events",
                      "intermediate.int_user_activity_daily"):
            assert _rows(con, f"nightly.{table}") == _rows(con, table), table
        quarantine = "select source, file, line, reason from {}ops.quarantine order by all"
        assert (con.execute(quarantine.format("nightly.")).fetchall()
                == con.execute(quarantine.format("")).fetchall())
    finally:
        con.close()
