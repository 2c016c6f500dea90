"""The same dbt project on Apache Spark gives the same published tables as on DuckDB.

One full pipeline build of the demo data set per engine (ingestion on DuckDB, the dbt models
on DuckDB or on Spark in session mode, checks, publish), in a reporting time zone other
than UTC so that the dispatched time-zone macros are exercised on both. Every table of
schema marts is compared cell for cell, order-independently: the same columns with the same
types, the same rows (matched on the non-floating-point columns, which are a key of every
mart), money to the cent and every floating-point value to 1e-9 (relative to its size
beyond 1). The dbt marts are read from the files of the Spark tables themselves, not from
the copies that the publish step takes.

Needs the spark extra and Java 17: `make test-spark` (skipped by `make test`).
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.transform.spark import table_dir
from tests.e2e.conftest import settings_for

pytestmark = pytest.mark.spark

TIMEZONE = "America/New_York"
CENT = 0.005
RELATIVE = 1e-9
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path):
    """{engine: (settings, report, seconds)} of one full build per engine."""
    pytest.importorskip("pyspark")
    from dagster_project.build import run_build

    out = {}
    for engine in ("duckdb", "spark"):
        root = tmp_path_factory.mktemp(f"build_{engine}")
        settings = settings_for(
            root, landing_dir=demo_landing, engine=engine, reporting_timezone=TIMEZONE
        )
        started = time.perf_counter()
        report = run_build(settings)
        out[engine] = (settings, report, round(time.perf_counter() - started, 1))
        assert report.published, report.describe()
    timings = {e: {"wall_seconds": s, "dbt_step_seconds": r.step_seconds.get("dbt_models")}
               for e, (_, r, s) in out.items()}
    print("\nbuild seconds per engine:", json.dumps(timings))
    return out


def _mart_models() -> set[str]:
    from dagster_project.defs.transform.project import MANIFEST_PATH

    manifest = json.loads(MANIFEST_PATH.read_text())
    return {n["name"] for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["schema"] == "marts"}


def _published_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = 'marts' order by 1", [catalog]).fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]


def _differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> list[str]:
    """What differs between two relations (empty when they are equal as defined above)."""
    cols_l, cols_r = _columns(con, left), _columns(con, right)
    if cols_l != cols_r:
        return [f"columns differ: {cols_l} vs {cols_r}"]
    floats = [c for c, t in cols_l if t in FLOAT_TYPES]
    keys = [c for c, _ in cols_l if c not in floats]
    key_list = ", ".join(f'"{k}"' for k in keys)
    if keys and con.execute(
        f"select count(*) from (select {key_list} from {left} group by all having count(*) > 1)"
    ).fetchone()[0]:
        return [f"the non-float columns {keys} are not a key: extend this comparison"]
    n_left, n_right = (con.execute(f"select count(*) from {r}").fetchone()[0] for r in (left, right))
    problems = [] if n_left == n_right else [f"{n_left} rows vs {n_right}"]
    on = " and ".join(f'l."{k}" is not distinct from r."{k}"' for k in keys) or "true"
    only_left, only_right = con.execute(
        f"select count(*) filter (where r._present is null), count(*) filter (where l._present is null) "
        f"from (select *, true as _present from {left}) l "
        f"full join (select *, true as _present from {right}) r on {on}"
    ).fetchone()
    if only_left or only_right:
        problems.append(f"{only_left} rows only in DuckDB's, {only_right} only in Spark's")
    for c in floats:
        bad, worst = con.execute(
            f"""select count(*), max(abs(l."{c}" - r."{c}"))
            from {left} l join {right} r on {on}
            where (l."{c}" is null) <> (r."{c}" is null)
               or abs(l."{c}" - r."{c}") >= {CENT}
               or abs(l."{c}" - r."{c}") > {RELATIVE} * greatest(1, abs(l."{c}"))"""
        ).fetchone()
        if bad:
            problems.append(f"{c}: {bad} cells differ (largest difference {worst})")
    return problems


def test_both_engines_publish_after_the_same_checks(engines) -> None:
    (_, duck, _), (_, spark, _) = engines["duckdb"], engines["spark"]
    assert spark.settings.engine == "spark" and duck.settings.engine == "duckdb"
    assert not spark.failed_checks and not duck.failed_checks
    # The dbt tests ran on Spark, the GX suites on the mirrored marts:
    # the same checks in number, none of them skipped for a missing table.
    assert spark.checks_run == duck.checks_run > 0
    # Non-blocking warnings (stale demo data) name the same checks.
    assert sorted(w.split(": ")[0] for w in spark.warnings) == sorted(
        w.split(": ")[0] for w in duck.warnings)


def test_every_published_table_equals_the_duckdb_build(engines) -> None:
    duck_settings, spark_settings = engines["duckdb"][0], engines["spark"][0]
    con = duckdb.connect()
    con.execute(f"attach '{duck_settings.serving_path}' as duck (read_only)")
    con.execute(f"attach '{spark_settings.serving_path}' as spark_serving (read_only)")
    published = _published_tables(con, "duck")
    assert published == _published_tables(con, "spark_serving")
    models = _mart_models()
    assert models and models <= set(published)

    differences = {}
    for table in published:
        if table in models:  # built by dbt on Spark: read the Spark table's own files
            files = sorted(str(p) for p in table_dir(
                spark_settings.spark_warehouse_dir, f"marts.{table}").glob("*.parquet"))
            assert files, f"no Spark files for marts.{table}"
            listed = ", ".join(f"'{f}'" for f in files)
            con.execute(f"create or replace view spark_{table} as select * from read_parquet([{listed}])")
            right = f"spark_{table}"
        else:  # built by Python from the marts (buying trend): the Spark build's serving copy
            right = f"spark_serving.marts.{table}"
        problems = _differences(con, f"duck.marts.{table}", right)
        if problems:
            differences[table] = problems
    assert not differences, json.dumps(differences, indent=1)
    assert len(published) >= 30


def test_marts_are_metastore_tables_that_spark_sql_reads(engines) -> None:
    """What a BI tool on the cluster sees: marts.* in the metastore, read through Spark SQL."""
    from dagster_project.transform.spark import open_spark_session

    duck_settings, spark_settings = engines["duckdb"][0], engines["spark"][0]
    session = open_spark_session(spark_settings)
    try:
        tables = {t.name for t in session.catalog.listTables("marts")}
        months, mrr = session.sql(
            "select count(*), sum(mrr_end) from marts.saas_metrics_monthly").collect()[0]
    finally:
        session.stop()
    assert _mart_models() <= tables
    con = duckdb.connect(str(duck_settings.serving_path), read_only=True)
    expected = con.execute("select count(*), sum(mrr_end) from marts.saas_metrics_monthly").fetchone()
    assert months == expected[0] and abs(mrr - expected[1]) < CENT
    assert (spark_settings.spark_raw_dir / "subscription_events" / "data.parquet").exists()


def _spark_jvms(spark_dir: Path) -> set[int]:
    """Pids of the Spark driver JVMs running on ``spark_dir`` (its metastore's folder): the
    JVM option stands alone on their command line. spark-submit's short-lived launcher JVM
    carries the same text only inside ``spark.driver.extraJavaOptions=...``."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"java") and (
                f"-Dderby.system.home={spark_dir}".encode() in cmdline):
            pids.add(int(proc.name))
    return pids


class _MainStepStarted(io.StringIO):
    """The build's progress stream (a line per step): set when the main dbt step starts."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()

    def write(self, text: str) -> int:
        if text.rstrip().endswith("started dbt_models"):
            self.started.set()
        return super().write(text)


def _kill_the_main_steps_driver(spark_dir: Path, main_step: threading.Event,
                                killed: dict) -> threading.Thread:
    """Once the main dbt step has started, wait for a Spark driver JVM that was not running
    before it, let it build for a while, then SIGKILL it. The thread only reads /proc and
    sends a signal."""

    def work() -> None:
        if not main_step.wait(timeout=1200):
            return
        before = _spark_jvms(spark_dir)  # the daily step's driver, if still shutting down
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if _spark_jvms(spark_dir) - before:
                time.sleep(45)  # mid-build: a few dozen of its ~300 nodes done
                for pid in sorted(_spark_jvms(spark_dir) - before):  # those still running
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed["pid"] = pid
                        return
                    except ProcessLookupError:
                        killed.setdefault("missed", []).append(pid)
            time.sleep(0.5)

    thread = threading.Thread(target=work, name="kill-spark-driver", daemon=True)
    thread.start()
    return thread


def test_a_killed_spark_driver_is_named_in_one_line_and_nothing_is_published(
    tmp_path_factory: pytest.TempPathFactory, demo_landing: Path,
) -> None:
    """The driver dies mid-build (here: killed; in the wild: a JVM error such as a full code
    cache): the build says so in one line and publishes nothing, and the checks that could
    not run are not reported as failed with 0 failing rows."""
    from dagster_project.build import run_build

    root = tmp_path_factory.mktemp("build_spark_killed")
    settings = settings_for(root, landing_dir=demo_landing, engine="spark")
    killed: dict = {}
    progress = _MainStepStarted()
    killer = _kill_the_main_steps_driver(settings.spark_dir, progress.started, killed)
    report = run_build(settings, progress=progress)
    killer.join(timeout=60)
    assert "pid" in killed, f"the main dbt step's Spark driver was not killed: {killed}"
    assert not report.published and not report.success
    assert not settings.serving_path.exists()
    assert [e.split(": ", 1)[0] for e in report.step_errors] == ["dbt_models"]
    (error,) = report.step_errors
    assert error.startswith("dbt_models: the Spark driver stopped: "), error
    assert "\n" not in error
    assert "dbt test(s) could not run and were not evaluated" in error
    assert not [c for c in report.failed_checks if "0 failing row" in c], report.failed_checks
    assert "the Spark driver stopped" in report.describe()
