"""`product-metrics build`: the whole asset graph, in this process, and a readable report."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import IO, Any

import dagster as dg

from dagster_project import build_state
from dagster_project.errors import MetricsError
from dagster_project.settings import DBT_BUILD_TARGET, Settings

MAX_LISTED = 12


@dataclass
class BuildReport:
    success: bool
    published: bool
    settings: Settings
    failed_checks: list[str] = field(default_factory=list)  # blocking, failed
    warnings: list[str] = field(default_factory=list)  # non-blocking, failed
    step_errors: list[str] = field(default_factory=list)
    checks_run: int = 0
    materialized: int = 0
    run_id: str = ""
    step_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    # The run's partition range (first, last day) and how the daily facts were built
    # (dbt_models's plan for them: mode, reason, window, ingestion batches, rows).
    partitions: tuple[str, str] | None = None
    incremental: dict[str, object] = field(default_factory=dict)
    log_path: str = ""  # the run's whole Dagster and dbt log
    report_path: str = ""  # the KPI report, when this build wrote it
    # Set when nothing changed since the last published build (build_state): that build's
    # record; nothing ran and the served data is untouched.
    nothing_new: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        """The report as JSON values: every field but the settings, in order; ``nothing_new``
        says whether the build stopped because nothing was new."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "settings"}
        values["partitions"] = list(self.partitions) if self.partitions else None
        values["nothing_new"] = self.nothing_new is not None
        return values

    def describe(self) -> str:
        lines: list[str] = []
        if self.nothing_new is not None:
            return (
                "Nothing new landed: the landing files, settings and code are those of the "
                f"build published at {self.nothing_new.get('finished_at')} UTC (run "
                f"{self.nothing_new.get('run_id')}), so its marts and checks stand; nothing "
                f"ran and the served data is untouched ({self.settings.serving_path}).\n"
                "  (--full-refresh rebuilds anyway.)"
            )
        if self.published:
            lines.append(
                f"Build passed: {self.materialized} assets materialised, {self.checks_run} checks "
                f"run, marts published."
            )
            lines.append(f"  serving database: {self.settings.serving_path} (schema marts, read-only for BI tools)")
            lines.append(f"  Parquet copies:   {self.settings.parquet_dir}")
            lines.append(f"  working warehouse: {self.settings.warehouse_path} (schemas raw, staging, intermediate, marts, ops)")
            if self.settings.engine == "spark":
                lines.append(
                    f"  models built on Spark ({self.settings.spark_method}): metastore tables "
                    f"marts.*, files under {self.settings.spark_warehouse_dir}"
                )
            if self.report_path:
                lines.append(f"  KPI report:       {self.report_path}")
            elif not self.settings.kpi_report:
                lines.append("  KPI report:       not written (METRICS_KPI_REPORT=false; "
                             "product-metrics report writes it)")
            lines.append(f"  dbt docs:         {self.settings.docs_dir / 'static_index.html'} "
                         "(`product-metrics docs` writes it)")
            lines.append("  metrics:          `product-metrics query --list` (the semantic layer: "
                         "any KPI by segment, channel, ... and period)")
            for msg in self.step_errors[:MAX_LISTED]:
                lines.append(f"  step failed after publishing: {msg}")
        else:
            lines.append(
                "Build FAILED: nothing was published; the serving database "
                f"{self.settings.serving_path} is unchanged."
            )
            for msg in self.failed_checks[:MAX_LISTED]:
                lines.append(f"  blocking check failed: {msg}")
            for msg in self.step_errors[:MAX_LISTED]:
                lines.append(f"  step failed: {msg}")
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warning(s) (non-blocking checks):")
            lines.extend(f"    - {w}" for w in self.warnings[:MAX_LISTED])
            if len(self.warnings) > MAX_LISTED:
                lines.append(f"    ... and {len(self.warnings) - MAX_LISTED} more (see the Dagster UI)")
        quality = self.settings.quality_docs_dir / "index.html"
        if quality.exists():
            lines.append(f"  data quality:     {quality} (Great Expectations Data Docs)")
        slice_line = self.slice_line()
        if slice_line:
            lines.append(f"  {slice_line}")
        if self.run_id:
            lines.append(f"  run id: {self.run_id}")
        if self.log_path:
            lines.append(f"  full log (Dagster and dbt): {self.log_path}")
        return "\n".join(lines)

    def slice_line(self) -> str:
        inc = self.incremental
        if not inc:
            return ""
        days = f"{inc.get('min_date')} .. {inc.get('max_date')}"
        if inc.get("mode") == "full":
            return f"daily facts: rebuilt in full ({inc.get('reason')}); partitions {days}"
        extra = [d for d in str(inc.get("extra_days") or "").split(", ") if d]
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        return (
            f"daily facts: incremental, days {days} ({inc.get('window_events')} events) and "
            f"{len(extra)} earlier or later day(s){f' ({shown})' if extra else ''} of the "
            f"{inc.get('changed_events')} events of ingestion batches "
            f"{inc.get('changes_after')} < id <= {inc.get('changes_through')}"
        )


def _instance() -> dg.DagsterInstance:
    # With DAGSTER_HOME set (as `make` does) runs are recorded where `dagster dev` sees them.
    if os.environ.get("DAGSTER_HOME"):
        os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


_PID = re.compile(r"\(pid: (\d+)\)")
_FAILURE_PREFIX = re.compile(r"^dagster\._core\.definitions\.events\.Failure: ")


def _run_process_alive(instance: dg.DagsterInstance, run: Any) -> bool:
    """Whether the process executing ``run`` still exists on this machine: its pid from the
    run's tags (our CLI builds) or from the engine event naming it (any other run). A run
    whose pid cannot be found counts as alive."""
    pid = run.tags.get("product-metrics/pid")
    host = run.tags.get("product-metrics/host")
    if host and host != socket.gethostname():
        return True
    if pid is None:
        for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            found = _PID.search(record.message or "")
            if found:
                pid = found.group(1)
                break
    if pid is None:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_stale_claims(instance: dg.DagsterInstance) -> list[str]:
    """Free the concurrency slots (pool ``duckdb``: one writer at a time) that runs whose
    process is gone still hold, and mark such runs failed. A build killed with SIGKILL,
    a machine that lost power or a stopped test never gives its slot back, and every later
    run would wait for it forever. Returns a line per run released."""
    storage = instance.event_log_storage
    if not getattr(storage, "supports_global_concurrency_limits", False):
        return []
    released = []
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        run_ids = {s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps}
        for run_id in sorted(run_ids):
            run = instance.get_run_by_id(run_id)
            if run is not None and not run.is_finished and _run_process_alive(instance, run):
                continue
            if run is not None and not run.is_finished:
                instance.report_run_failed(
                    run, message="its process is gone (killed or crashed); "
                    "product-metrics released its hold on the warehouse")
            storage.free_concurrency_slots_for_run(run_id)
            released.append(f"run {run_id} (pool {pool}): "
                            + ("process gone, marked failed" if run and not run.is_finished
                               else "already finished"))
    return released


def _check_message(evaluation: dg.AssetCheckEvaluation) -> str:
    target = evaluation.asset_key.to_user_string()
    text = evaluation.description or ""
    meta = evaluation.metadata or {}
    failed_rows = meta.get("dagster_dbt/failed_row_count")
    if failed_rows is not None and not text:
        text = f"{failed_rows.value} failing row(s)"
    return f"{target} / {evaluation.check_name}" + (f": {text}" if text else "")


def _root_cause(error: object) -> str:
    """The innermost error's first line: Dagster wraps the user's exception in its own."""
    if error is None:
        return "unknown error"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = (getattr(error, "message", "") or "").strip().splitlines()
    if not lines:
        return "unknown error"
    # A Failure raised on purpose, or a problem the user can fix (MetricsError), carries its
    # own sentence: drop the class name.
    if getattr(error, "cls_name", None) in _user_error_names():
        return lines[0].split(": ", 1)[-1]
    return _FAILURE_PREFIX.sub("", lines[0])


def _user_error_names() -> set[str]:
    from dagster_project.errors import MetricsError

    names, todo = {"MetricsError"}, [MetricsError]
    while todo:
        for sub in todo.pop().__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


def _step_seconds(result: object) -> dict[str, float]:
    """Wall seconds of each successful step (ingestion per source, dbt, checks, publish)."""
    seconds: dict[str, float] = {}
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.event_type_value == "STEP_SUCCESS" and event.step_key:
            seconds[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 3)
    return seconds


def _newest_built_day(settings: Settings) -> dt.date | None:
    """The newest event day in the working warehouse (None before a first build)."""
    import duckdb

    if not settings.warehouse_path.exists():
        return None
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.Error as exc:
        raise MetricsError(
            f"cannot open the working warehouse {settings.warehouse_path} ({exc}); is another "
            "build or the Dagster daemon using it? One writer at a time."
        ) from None
    try:
        found = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'staging' "
            "and table_name = 'stg_product__events'").fetchall()[0][0]
        if not found:
            return None
        return con.execute("select max(occurred_date) from staging.stg_product__events"
                           ).fetchall()[0][0]
    finally:
        con.close()


def nightly_end_day(settings: Settings) -> dt.date:
    """The last day of a nightly run: the newest day product events landed for (their
    dt=YYYY-MM-DD folders) or, when later, the newest event day already built; today
    when there is neither."""
    from dagster_project.defs.partitions import newest_landing_day, today
    from dagster_project.ingest.files import discover

    files, _ = discover(settings.landing_dir, "product_events")
    days = [d for d in (newest_landing_day(f.name for f in files), _newest_built_day(settings))
            if d is not None]
    return max(days) if days else today(settings)


def run_window(settings: Settings, backfill: tuple[str, str] | None = None) -> tuple[str, str]:
    """The partition range of a build: ``backfill`` as given, else the nightly window
    (:func:`nightly_end_day` and the ``lookback_days`` before it)."""
    from dagster_project.defs.partitions import backfill_window, daily_partitions, lookback_window

    partitions = daily_partitions(settings)
    if backfill is not None:
        return backfill_window(backfill[0], backfill[1], partitions)
    return lookback_window(nightly_end_day(settings), settings, partitions)


def run_config(full_refresh: bool) -> dict[str, object]:
    """Run config of the build job; a full refresh re-derives every source and rebuilds
    the daily facts from all raw rows."""
    from dagster_project.contract import SOURCES

    if not full_refresh:
        return {}
    ops: dict[str, object] = {f"raw__{source}": {"config": {"full_refresh": True}}
                              for source in SOURCES}
    ops["dbt_models"] = {"config": {"full_refresh": True}}
    return {"ops": ops}


def _slice_metadata(materialized: list) -> dict[str, object]:
    """The daily facts' plan, from the metadata of dbt_models's stg_product__events output."""
    key = dg.AssetKey(["staging", "stg_product__events"])
    for event in materialized:
        if event.asset_key == key:
            meta = event.materialization.metadata
            return {k.removeprefix("incremental/"): getattr(v, "value", v)
                    for k, v in meta.items() if k.startswith("incremental/")}
    return {}


def run_build(settings: Settings, full_refresh: bool = False,
              backfill: tuple[str, str] | None = None,
              echo: Callable[[str], None] | None = None,
              progress: IO[str] | None = None) -> BuildReport:
    """Build in this process. On a fresh warehouse everything is built in full; after
    that each build ingests the new files and rebuilds the daily facts' slice (the
    window's days and whatever the new files touched). ``full_refresh`` rebuilds
    everything from the landed rows; ``backfill`` (first, last day) sets the window.
    The run's log (Dagster events and dbt's output, thousands of lines) goes to
    ``data/logs/build-<time>.log``; ``echo`` (default: nothing) gets one line saying
    where; ``progress`` (default: none), a stream that shows the build's progress as it
    goes (one updating line on a terminal, a line per step elsewhere)."""
    import time

    from dagster_project.warehouse_lock import hold_warehouse

    started = time.perf_counter()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.landing_dir.exists():
        raise MetricsError(
            f"landing folder {settings.landing_dir} does not exist: create it (one folder per "
            "source) or run `product-metrics generate` for a demo data set"
        )
    # One writer at a time: a second build on this warehouse stops here, before any step.
    with hold_warehouse(settings.warehouse_path):
        inputs = build_state.signature(settings)
        last = None if (full_refresh or backfill) else build_state.unchanged(settings)
        if last is not None:
            report = BuildReport(success=True, published=False, settings=settings,
                                 run_id=str(last.get("run_id", "")), nothing_new=last)
        else:
            build_state.forget(settings)
            report = _run_build_locked(settings, full_refresh, backfill, echo, progress)
            if report.success and report.published:
                build_state.record(settings, report.run_id, inputs)
    report.wall_seconds = round(time.perf_counter() - started, 3)
    return report


def _run_build_locked(settings: Settings, full_refresh: bool,
                      backfill: tuple[str, str] | None,
                      echo: Callable[[str], None] | None,
                      progress: IO[str] | None) -> BuildReport:
    from dagster_project import dbt_server
    from dagster_project.quality import gx_worker
    from dagster_project.reports import svg_worker

    # Great Expectations loads in a worker process from here on, on the second core, while
    # this process loads Dagster, ingests and runs dbt (~3 s off every build); so does the
    # engine that draws the KPI report's charts, which then draws them beside the building
    # of the next (~1.5 s off a build that writes the report); and dbt, whose command then
    # starts as a fork of that warm process (~3 s off every build).
    # The server also warms dbt's caches from the dbt step's partial parse.
    with dbt_server.running(DBT_BUILD_TARGET / "partial_parse.msgpack"), \
            gx_worker.running() as gx, (
            svg_worker.running() if settings.kpi_report else contextlib.nullcontext()):
        report = _execute(settings, full_refresh, backfill, echo, progress)
        # The checks' Data Docs pages the GX worker writes when it has nothing else to do.
        report.warnings += gx_worker.finish(gx)
        return report


@contextlib.contextmanager
def _report_ahead(settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance,
                  run_id: str) -> Iterator[None]:
    """Within a build's run: the KPI report drawn from the marts as soon as they are built
    (defs/reports/ahead.py), when the build writes one."""
    from dagster_project.defs.publish.assets import PUBLISH_KEY
    from dagster_project.defs.reports import ahead

    graph = defs.resolve_asset_graph()
    if not settings.kpi_report or not graph.has(PUBLISH_KEY):
        yield
        return
    with ahead.drawing(settings, graph.get(PUBLISH_KEY).parent_keys) as listener:
        instance.add_event_listener(run_id, listener)
        yield


def _execute(settings: Settings, full_refresh: bool, backfill: tuple[str, str] | None,
             echo: Callable[[str], None] | None, progress: IO[str] | None) -> BuildReport:
    import time
    import uuid

    from dagster_project.definitions import BUILD_JOB, build_definitions
    from dagster_project.defs.partitions import range_tags
    from dagster_project.progress import BuildProgress
    from dagster_project.resources import holding_open

    if settings.engine == "spark":
        from dagster_project.transform.spark import check_spark_ready

        check_spark_ready(settings)
    window = run_window(settings, backfill)
    defs = build_definitions(settings)
    job = defs.resolve_job_def(BUILD_JOB)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    if echo:
        echo(f"building (ingest, dbt, checks, publish) days {window[0]} .. {window[1]}; "
             f"log: {log_path}")
    with (
        _instance() as instance,
        log_path.open("w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        stale = release_stale_claims(instance)
        for line in stale:
            print(f"released a stale hold on the warehouse: {line}")
        run_id = str(uuid.uuid4())
        shown = None
        if progress is not None:
            total = len(defs.resolve_asset_graph().materializable_asset_keys)
            shown = BuildProgress(progress, total)
            instance.add_event_listener(run_id, shown)
        try:
            # The warehouse stays open between the steps (each open costs ~30 ms; a build
            # opened it ~40 times), closed for dbt's process and at the end. The KPI report
            # is drawn while the marts' checks and the publish run (defs/reports/ahead.py).
            with holding_open(settings.warehouse_path), \
                    _report_ahead(settings, defs, instance, run_id):
                result = job.execute_in_process(
                    instance=instance, raise_on_error=False,
                    run_config=run_config(full_refresh), run_id=run_id,
                    tags={**range_tags(window), "product-metrics/trigger": "cli",
                          "product-metrics/pid": str(os.getpid()),
                          "product-metrics/host": socket.gethostname()},
                )
        finally:
            if shown is not None:
                shown.finish()
        report = BuildReport(success=result.success, published=False, settings=settings,
                             run_id=result.run_id, log_path=str(log_path), partitions=window)
        report.warnings += [f"released a stale hold on the warehouse: {line}" for line in stale]
        for evaluation in result.get_asset_check_evaluations():
            report.checks_run += 1
            if evaluation.passed:
                continue
            if evaluation.severity == dg.AssetCheckSeverity.ERROR:
                report.failed_checks.append(_check_message(evaluation))
            else:
                report.warnings.append(_check_message(evaluation))
        for event in result.get_step_failure_events():
            report.step_errors.append(
                f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
            )
        materialized = result.get_asset_materialization_events()
        report.materialized = len({ev.asset_key for ev in materialized})
        report.incremental = _slice_metadata(materialized)
        report.published = any(
            ev.asset_key == dg.AssetKey(["serving", "published_marts"]) for ev in materialized
        )
        report.success = result.success and report.published
        if any(ev.asset_key == dg.AssetKey(["serving", "kpi_report"]) for ev in materialized):
            report.report_path = str(settings.report_path)
        report.step_seconds = _step_seconds(result)
    return report
