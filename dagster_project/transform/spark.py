"""The dbt models on Spark (``METRICS_ENGINE=spark``; docs/SPARK.md).

Ingestion stays on DuckDB: it applies the landing contract and the quarantine, and writes
``raw.*`` in the working warehouse. For Spark:

1. :func:`export_raw` writes each raw table a dbt step reads as one Parquet file,
   ``<spark_dir>/raw/<table>/data.parquet`` (DuckDB's COPY: ~0.1 s at the demo scale), once
   that table's ingestion has run, and swaps each table's folder in whole, so Spark never
   reads half an export;
2. ``dbt build --target spark`` registers them as external tables ``raw.<table>`` in the
   Spark metastore (on-run-start hook, ``macros/spark.sql``) and builds every model there:
   the marts are metastore tables, Parquet files under ``<spark_dir>/warehouse``;
3. :func:`mirror_tables` reads back what the Python side needs (every mart, and the as-of
   date the publish records) into the DuckDB warehouse, so that the Great Expectations
   checks, the reports and the atomic publish to ``serving.duckdb`` run unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES
from dagster_project.errors import MetricsError
from dagster_project.settings import DBT_PROJECT_DIR, Settings

# Tables outside schema marts that Python reads after dbt (the publish's as-of date).
MIRRORED_TABLES = ("intermediate.int_as_of_date",)
LOG4J_CONFIG = DBT_PROJECT_DIR / "spark" / "log4j2.properties"
# The in-process Spark driver's JVM (session mode). C1 only (TieredStopAtLevel=1): hundreds
# of short queries on two cores finish 30-45% sooner than with the tiered C2 compiler. But a
# C1-only JVM sizes its JIT code cache for a desktop client, 48 MB instead of 240 MB, and a
# dbt build on Spark compiles thousands of classes (whole-stage code generation: one or more
# per query stage, ~300 dbt nodes in one session). The cache filled up at random, depending
# on which methods got hot, and the driver died with "VirtualMachineError: Out of space in
# CodeCache for adapters". ReservedCodeCacheSize gives it the tiered default and more; with
# code cache flushing (on by default) cold compiled code is evicted before it runs out.
CODE_CACHE = "-XX:ReservedCodeCacheSize=384m -XX:+UseCodeCacheFlushing"
JAVA_OPTIONS = f"-XX:TieredStopAtLevel=1 {CODE_CACHE}"


def check_spark_ready(settings: Settings) -> None:
    """Fail early, with what to install, when the Spark engine cannot start."""
    try:
        import dbt.adapters.spark  # noqa: F401
    except ImportError:
        raise MetricsError(
            "METRICS_ENGINE=spark needs the spark extra: pip install -e '.[spark]' "
            "(or `make test-spark`, which installs it)"
        ) from None
    if settings.spark_method == "thrift":
        try:
            import pyhive  # noqa: F401
        except ImportError:
            raise MetricsError(
                "METRICS_SPARK_METHOD=thrift needs PyHive: pip install -e '.[spark-thrift]'"
            ) from None
        return
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise MetricsError(
            "METRICS_SPARK_METHOD=session runs Spark in-process and needs pyspark: "
            "pip install -e '.[spark]'"
        ) from None
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise MetricsError(
            "METRICS_ENGINE=spark runs Spark in-process and needs Java 17 or later: install "
            "it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )


def spark_env(settings: Settings) -> dict[str, str]:
    """The DBT_SPARK_* variables that dbt_models/profiles.yml reads."""
    return {
        "DBT_SPARK_DIR": str(settings.spark_dir),
        "DBT_SPARK_DRIVER_MEMORY": settings.spark_driver_memory,
        "DBT_SPARK_HOST": settings.spark_host,
        "DBT_SPARK_PORT": str(settings.spark_port),
        "DBT_SPARK_JAVA_OPTIONS": f"{JAVA_OPTIONS} -Dlog4j2.configurationFile=file:{LOG4J_CONFIG}",
        # Spark binds its driver to this address; without it, it may pick an outside one.
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }


# Every raw table dbt reads: one per source, and the rates resolved by ingestion.
RAW_TABLES = (*SOURCES, "fx_rates_to_reporting")


def export_raw(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, tables: Iterable[str] = RAW_TABLES
) -> dict[str, int]:
    """Write each of ``tables`` (``raw.<table>``) as ``raw_dir/<table>/data.parquet``; rows
    per table.

    Each table's new export is written beside its old one and swapped in, so a failed
    export leaves the previous one whole. An empty raw table gives a Parquet file with its
    columns and no rows (Spark then reads an empty table, as dbt does on DuckDB).
    """
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for source in tables:
        if source not in RAW_TABLES:
            raise MetricsError(f"raw.{source} is not a raw table dbt reads: {RAW_TABLES}")
        folder = raw_dir / source
        fresh = raw_dir / f".{source}.new"
        old = raw_dir / f".{source}.old"
        for stale in (fresh, old):
            shutil.rmtree(stale, ignore_errors=True)
        fresh.mkdir()
        con.execute(
            f"copy raw.{source} to '{fresh / 'data.parquet'}' (format parquet, compression zstd)")
        counts[source] = con.execute(f"select count(*) from raw.{source}").fetchone()[0]
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    return counts


class ExportMarker:
    """Which raw tables this run has exported already (``<raw_dir>/.exported_by_run``).

    The dbt step exports every raw table once the run's ingestion assets have run; a retry
    of the step in the same run does not export them again.
    """

    def __init__(self, raw_dir: Path, run_id: str) -> None:
        self.path = Path(raw_dir) / ".exported_by_run"
        self.run_id = run_id

    def exported(self) -> set[str]:
        try:
            recorded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return set()
        if not isinstance(recorded, dict) or recorded.get("run_id") != self.run_id:
            return set()
        return set(recorded.get("tables", []))

    def add(self, tables: Iterable[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        done = sorted(self.exported() | set(tables))
        self.path.write_text(json.dumps({"run_id": self.run_id, "tables": done}))


def table_dir(warehouse_dir: Path, relation: str) -> Path:
    """Where Spark keeps a managed table's files: ``<warehouse>/<schema>.db/<table>``."""
    schema, table = relation.split(".")
    return Path(warehouse_dir) / f"{schema}.db" / table


def mirror_tables(
    con: duckdb.DuckDBPyConnection, warehouse_dir: Path, relations: list[str]
) -> dict[str, int]:
    """Replace each DuckDB table ``schema.table`` by the Spark table's Parquet files."""
    counts: dict[str, int] = {}
    for relation in relations:
        files = sorted(str(p) for p in table_dir(warehouse_dir, relation).glob("*.parquet"))
        if not files:
            raise MetricsError(
                f"Spark table {relation} has no Parquet files under "
                f"{table_dir(warehouse_dir, relation)}: did dbt build it on Spark? (with "
                "METRICS_SPARK_METHOD=thrift the cluster's spark.sql.warehouse.dir must be "
                "METRICS_SPARK_DIR/warehouse)"
            )
        schema, table = relation.split(".")
        con.execute(f'create schema if not exists "{schema}"')
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        con.execute(
            f'create or replace table "{schema}"."{table}" as '
            f"select * from read_parquet([{listed}])"
        )
        counts[relation] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return counts


# What the JVM or Spark log when the driver itself dies (the first such line is the cause),
# and what every dbt node says after that (the driver is gone).
_FATAL = re.compile(
    r"\b(?:java\.lang\.)?(?:VirtualMachineError|OutOfMemoryError|StackOverflowError|"
    r"InternalError)\b|Uncaught exception|SparkContext (?:was|is) shut ?down|"
    r"Out of space in CodeCache"
)
_STACK_FRAME = re.compile(r"^\s+at |^\s*\.\.\. \d+ more")
_GONE = re.compile(r"Connection refused|Broken pipe|SparkContext (?:was|is) shut ?down|"
                   r"Cannot call methods on a stopped SparkContext|Py4J|"
                   r"Answer from Java side is empty|does not exist in the JVM|"
                   r"Error while (?:sending|receiving)")


def driver_errors_log(settings: Settings) -> Path:
    """Spark's error log of the current dbt step (log4j2.properties writes it)."""
    return settings.spark_dir / "logs" / "driver-errors.log"


def driver_stopped(settings: Settings, messages: list[str]) -> str | None:
    """One line when the Spark driver died during a dbt step, else None: its first fatal
    JVM error from the step's error log, or, when it died without a word (killed), that dbt
    could not reach it. ``messages`` are the dbt nodes' messages (run_results.json)."""
    if not any(_GONE.search(m or "") for m in messages):
        return None
    first = None
    with contextlib.suppress(OSError):
        for line in driver_errors_log(settings).read_text(errors="replace").splitlines():
            found = None if _STACK_FRAME.match(line) else _FATAL.search(line)
            if found:
                # "java.lang.VirtualMachineError: Out of space ..." reads best from the class.
                cls = re.search(r"[\w.$]+(?:Error|Exception)\b.*$", line)
                first = (cls.group(0) if cls and cls.start() <= found.start() else line).strip()
                break
    return "the Spark driver stopped: " + (
        first[:300] if first else "it ended without an error of its own (killed from outside?); "
        "dbt's next statements could not reach it")


class Stopwatch:
    """Seconds of the named phases of one step (logged with the step)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._start, 3)
        self._start = now


def open_spark_session(settings: Settings):  # -> pyspark.sql.SparkSession
    """A local Spark session on the pipeline's metastore (session mode), to query the marts
    from Python: ``open_spark_session(load_settings()).sql("select * from marts.x")``.

    Derby lets one process at a time open the metastore: not while a build runs.
    """
    check_spark_ready(settings)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    env = spark_env(settings)
    return (
        SparkSession.builder.master("local[2]")
        .appName("product-metrics")
        .enableHiveSupport()
        .config("spark.sql.warehouse.dir", str(settings.spark_warehouse_dir))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={settings.spark_dir}/metastore_db;create=true")
        .config("spark.driver.extraJavaOptions",
                f"-Dderby.system.home={settings.spark_dir} {env['DBT_SPARK_JAVA_OPTIONS']}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
