"""Settings, read once from ``METRICS_*`` environment variables, else defaults.

Nothing else in the code base reads ``os.environ`` for settings: build a
``Settings`` with :func:`load_settings` (optionally with overrides from the
command line) and pass it along.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.errors import MetricsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_models"
# The target folder of the build's dbt step: it keeps dbt's partial parse from build to build.
DBT_BUILD_TARGET = DBT_PROJECT_DIR / "target" / "dbt_models"
SEEDS_DIR = PROJECT_ROOT / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


@dataclass(frozen=True)
class Settings:
    """Everything a run can be told. Paths are absolute after :func:`load_settings`."""

    landing_dir: Path = Path("data/landing")
    warehouse_path: Path = Path("data/warehouse.duckdb")
    serving_path: Path = Path("data/serving.duckdb")
    reporting_timezone: str = "UTC"
    reporting_currency: str = "USD"
    # ISO date; empty means "latest day with subscription activity" (docs/METRICS.md).
    as_of_date: str | None = None
    # A source whose quarantined share of landed rows is above this fails the build.
    quarantine_max_share: float = 0.01
    # A landing file that cannot be read at all (corrupt gzip or Parquet) blocks publishing
    # unless this is true; either way it is listed in the build summary.
    allow_unreadable_files: bool = False
    # Whether a build that publishes also writes the KPI report (serving/report.html; about
    # 4 s of a build: its charts are rendered to SVG). ``product-metrics report`` writes it
    # either way.
    kpi_report: bool = True
    # The DuckDB storage format of the serving database: v1.4.0 is read by the DuckDB 1.x
    # that BI drivers bundle (Metabase, DBeaver, Superset, Evidence); "latest" for DuckDB 2.
    serving_storage_version: str = "v1.4.0"
    duckdb_memory_limit: str = "8GB"
    duckdb_threads: int = 2
    # Where DuckDB spills when a query outgrows memory_limit.
    duckdb_temp_dir: Path = Path("data/tmp")
    # Nightly schedule (cron, in schedule_timezone) and how many days back it re-processes.
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "UTC"
    lookback_days: int = 3
    # First day of the daily partitions (reporting time zone); older data is still built
    # by a full refresh, it just has no partition of its own.
    partitions_start: str = "2020-01-01"
    # Seconds between looks of the sensor that starts a run when new files land.
    sensor_interval_seconds: int = 60
    # Other metric settings (dbt vars such as gross_margin), a YAML mapping.
    dbt_vars: dict[str, object] = field(default_factory=dict)
    # Where the dbt models run: duckdb (the working warehouse) or spark (docs/SPARK.md).
    # Ingestion, checks and publishing use DuckDB either way.
    engine: str = "duckdb"
    # spark: session (Spark inside the dbt process) or thrift (a cluster's Thrift server).
    spark_method: str = "session"
    # spark: the metastore (metastore_db/, derby.log), the table files (warehouse/) and the raw
    # Parquet export (raw/). With thrift it must be a path the cluster reads too.
    spark_dir: Path = Path("data/spark")
    spark_host: str = "localhost"
    spark_port: int = 10000
    spark_driver_memory: str = "4g"

    @property
    def data_dir(self) -> Path:
        return self.warehouse_path.parent

    @property
    def parquet_dir(self) -> Path:
        return self.serving_path.parent / "serving" / "parquet"

    @property
    def report_path(self) -> Path:
        """The KPI report (one HTML file), beside the Parquet copies of the serving database."""
        return self.serving_path.parent / "serving" / "report.html"

    @property
    def semantic_manifest_path(self) -> Path:
        """The semantic layer's definitions (semantic models, metrics) of the published build,
        copied beside the serving database when it publishes: `product-metrics query` reads
        the definitions the served numbers were built with."""
        return self.serving_path.parent / "serving" / "semantic_manifest.json"

    @property
    def quality_docs_dir(self) -> Path:
        """Great Expectations' Data Docs of the checks, beside the KPI report."""
        return self.serving_path.parent / "serving" / "quality"

    @property
    def docs_dir(self) -> Path:
        """dbt's docs site (``product-metrics docs``), beside the KPI report."""
        return self.serving_path.parent / "serving" / "docs"

    @property
    def spark_raw_dir(self) -> Path:
        """Where raw.* is exported as Parquet for Spark (``<dir>/<table>/data.parquet``)."""
        return self.spark_dir / "raw"

    @property
    def spark_warehouse_dir(self) -> Path:
        """spark.sql.warehouse.dir: the files of the tables dbt builds on Spark."""
        return self.spark_dir / "warehouse"

    @property
    def dbt_target(self) -> str:
        """The target of dbt_models/profiles.yml these settings run dbt with."""
        if self.engine == "duckdb":
            return "duckdb"
        return "spark" if self.spark_method == "session" else "spark_thrift"

    def dbt_cli_vars(self) -> dict[str, object]:
        """The ``--vars`` the pipeline passes to dbt: :meth:`dbt_vars_dict` without the
        settings that travel in environment variables (:meth:`dbt_env`)."""
        return {k: v for k, v in self.dbt_vars_dict().items() if k not in DBT_ENV_SETTINGS}

    def dbt_env(self) -> dict[str, str]:
        """Settings that reach dbt as environment variables (``DBT_AS_OF_DATE``), read by the
        macro ``run_param`` (a ``--vars`` value wins). A value that changes from run to run
        in ``--vars`` makes dbt re-parse the whole project (~7 s); ``run_param`` reads the
        environment at run time only, so a new value re-parses nothing."""
        merged = self.dbt_vars_dict()
        return {env: str(merged.get(name) or "") for name, env in DBT_ENV_SETTINGS.items()}

    def dbt_vars_dict(self) -> dict[str, object]:
        """Every metric setting as a dbt var (the pipeline passes most as ``--vars``, see
        :meth:`dbt_cli_vars`)."""
        out: dict[str, object] = {
            "reporting_timezone": self.reporting_timezone,
            "reporting_currency": self.reporting_currency,
        }
        if self.as_of_date:
            out["as_of_date"] = self.as_of_date
        out.update(self.dbt_vars)
        if self.engine == "spark":
            out["spark_raw_location"] = str(self.spark_raw_dir)
        return out


# Settings that reach dbt in environment variables rather than --vars (Settings.dbt_env).
DBT_ENV_SETTINGS = {"as_of_date": "DBT_AS_OF_DATE"}

_ENV = {
    "landing_dir": "METRICS_LANDING_DIR",
    "warehouse_path": "METRICS_WAREHOUSE_PATH",
    "serving_path": "METRICS_SERVING_PATH",
    "reporting_timezone": "METRICS_REPORTING_TIMEZONE",
    "reporting_currency": "METRICS_REPORTING_CURRENCY",
    "as_of_date": "METRICS_AS_OF_DATE",
    "quarantine_max_share": "METRICS_QUARANTINE_MAX_SHARE",
    "allow_unreadable_files": "METRICS_ALLOW_UNREADABLE_FILES",
    "kpi_report": "METRICS_KPI_REPORT",
    "serving_storage_version": "METRICS_SERVING_STORAGE_VERSION",
    "duckdb_memory_limit": "METRICS_DUCKDB_MEMORY_LIMIT",
    "duckdb_threads": "METRICS_DUCKDB_THREADS",
    "duckdb_temp_dir": "METRICS_DUCKDB_TEMP_DIR",
    "schedule_cron": "METRICS_SCHEDULE_CRON",
    "schedule_timezone": "METRICS_SCHEDULE_TIMEZONE",
    "lookback_days": "METRICS_LOOKBACK_DAYS",
    "partitions_start": "METRICS_PARTITIONS_START",
    "sensor_interval_seconds": "METRICS_SENSOR_INTERVAL_SECONDS",
    "dbt_vars": "METRICS_DBT_VARS",
    "engine": "METRICS_ENGINE",
    "spark_method": "METRICS_SPARK_METHOD",
    "spark_dir": "METRICS_SPARK_DIR",
    "spark_host": "METRICS_SPARK_HOST",
    "spark_port": "METRICS_SPARK_PORT",
    "spark_driver_memory": "METRICS_SPARK_DRIVER_MEMORY",
}

_CHOICES = {"engine": ("duckdb", "spark"), "spark_method": ("session", "thrift")}


# What each setting means (for --help and the README's settings table, both generated
# from here). The defaults come from Settings.
MEANINGS: dict[str, str] = {
    "landing_dir": "the landing folder, one sub-folder per source",
    "warehouse_path": "working warehouse (one writer at a time)",
    "serving_path": "published database, replaced atomically after checks pass",
    "reporting_timezone": "day, week and month boundaries",
    "reporting_currency": "currency of every published amount; any currency the rate table "
                          "holds (README, Exchange rates)",
    "as_of_date": "report through this date",
    "quarantine_max_share": "a source with a larger quarantined share of landed rows fails "
                            "the build",
    "allow_unreadable_files": "true: a landing file that cannot be read at all is a warning, "
                              "not a reason to hold back publishing",
    "kpi_report": "false: a build publishes the marts without writing the KPI report "
                  "(product-metrics report still writes it)",
    "serving_storage_version": "DuckDB storage format of the serving database: v1.4.0 opens "
                               "in the DuckDB 1.x that BI drivers bundle; latest for DuckDB 2 "
                               "only",
    "duckdb_memory_limit": "DuckDB memory limit (it spills to disk beyond it)",
    "duckdb_threads": "DuckDB threads",
    "duckdb_temp_dir": "where DuckDB spills",
    "schedule_cron": "when the nightly schedule runs (cron)",
    "schedule_timezone": "time zone of that cron",
    "lookback_days": "days before the newest day that every nightly run rebuilds in full",
    "partitions_start": "first daily partition (older data is built by a full refresh, it "
                        "only has no partition)",
    "sensor_interval_seconds": "how often the landing sensor looks for new files",
    "dbt_vars": "other metric settings as a YAML mapping, e.g. {gross_margin: 0.75, "
                "passive_events: [page_view]}; names and defaults: the vars in "
                "dbt_models/dbt_project.yml, each with a comment",
    "engine": "where the dbt models run: duckdb or spark (flag --engine; docs/SPARK.md)",
    "spark_method": "session: Spark inside the build (one machine); thrift: a cluster's "
                    "Spark Thrift Server",
    "spark_dir": "Spark's metastore (metastore_db/, derby.log), table files (warehouse/) "
                 "and the raw export (raw/)",
    "spark_host": "the Thrift server's host (thrift only)",
    "spark_port": "the Thrift server's port (thrift only)",
    "spark_driver_memory": "the Spark driver's memory (session only; it holds all of local "
                           "Spark)",
}


# Defaults that are a rule rather than a value, in words.
DEFAULTS_IN_WORDS: dict[str, str] = {
    "as_of_date": "latest day with subscription activity",
}


def setting_help() -> list[tuple[str, str, str]]:
    """(environment variable, default as text, meaning) of every setting, in order."""
    defaults = Settings()
    out = []
    for name, var in _ENV.items():
        value = getattr(defaults, name)
        if name in DEFAULTS_IN_WORDS:
            shown = DEFAULTS_IN_WORDS[name]
        elif value is None:
            raise ValueError(f"setting {name} has no default: say it in DEFAULTS_IN_WORDS")
        elif value == {}:
            shown = ""
        elif isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = str(value)
        out.append((var, shown, MEANINGS[name]))
    return out


def _parse_vars(text: str) -> dict[str, object]:
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise MetricsError(f"METRICS_DBT_VARS is not valid YAML: {exc}") from None
    if not isinstance(value, dict):
        raise MetricsError(
            "METRICS_DBT_VARS must be a YAML mapping, e.g. "
            "'{gross_margin: 0.75, passive_events: [page_view]}'"
        )
    return {str(k): v for k, v in value.items()}


def _coerce(name: str, raw: str) -> object:
    try:
        if name in {"landing_dir", "warehouse_path", "serving_path", "duckdb_temp_dir", "spark_dir"}:
            return Path(raw)
        if name in _CHOICES:
            if raw not in _CHOICES[name]:
                raise ValueError(f"must be one of {', '.join(_CHOICES[name])}")
            return raw
        if name == "quarantine_max_share":
            value = float(raw)
            if not 0 <= value <= 1:
                raise ValueError("must be between 0 and 1")
            return value
        if name in {"duckdb_threads", "lookback_days", "sensor_interval_seconds", "spark_port"}:
            value = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if name == "reporting_currency":
            if not re.fullmatch(r"[A-Za-z]{3}", raw.strip()):
                raise ValueError("must be an ISO 4217 code such as USD or EUR")
            return raw.strip().upper()
        if name == "serving_storage_version":
            if raw != "latest" and not re.fullmatch(r"v\d+\.\d+\.\d+", raw):
                raise ValueError("must be a DuckDB version such as v1.4.0, or latest")
            return raw
        if name in ("allow_unreadable_files", "kpi_report"):
            if raw.strip().lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError("must be true or false")
            return raw.strip().lower() in {"true", "1", "yes"}
        if name == "dbt_vars":
            return _parse_vars(raw)
        if name == "as_of_date":
            import datetime as _dt

            return _dt.date.fromisoformat(raw).isoformat() if raw else None
        if name == "partitions_start":
            import datetime as _dt

            return _dt.date.fromisoformat(raw).isoformat()
    except ValueError as exc:
        raise MetricsError(f"setting {_ENV[name]}={raw!r} is invalid: {exc}") from None
    return raw


def load_settings(
    env: dict[str, str] | None = None, base_dir: Path | None = None, **overrides: object
) -> Settings:
    """Environment first, then ``overrides`` (command-line flags) win; None overrides are ignored.

    Relative paths are resolved against ``base_dir`` (default: the current directory).
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name, var in _ENV.items():
        if var in env and env[var] != "":
            values[name] = _coerce(name, env[var])
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in _ENV:
            raise TypeError(f"unknown setting {name}")
        values[name] = _coerce(name, value) if isinstance(value, str) else value
    settings = Settings(**values)
    base = (base_dir or Path.cwd()).resolve()
    paths = {
        f.name: (base / getattr(settings, f.name)).resolve()
        for f in dataclasses.fields(settings)
        if isinstance(getattr(settings, f.name), Path)
    }
    return dataclasses.replace(settings, **paths)


def metric_vars(settings: Settings) -> dict[str, object]:
    """The metric settings in force: dbt_project.yml's vars, overridden by these settings.

    Python assets read metric settings (e.g. smoothing_alpha) from here, so dbt and Python
    share one set of defaults.
    """
    import yaml

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    merged: dict[str, object] = dict(project.get("vars") or {})
    merged.update(settings.dbt_vars_dict())
    return merged
