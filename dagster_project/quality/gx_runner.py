"""Run a JSON expectation suite with Great Expectations 1.x on a pandas DataFrame.

GX's SQL datasource fails over duckdb (checked with GX 1.x), so frames are validated with
the pandas datasource of one ephemeral context, created lazily once per process by the
first check that needs it (GX takes ~2.5-5 s to import, so nothing here imports it at
module level, and a build that runs no GX check never pays for it). Tables are read into
pandas only with the columns the suite needs and in chunks of at most ``CHUNK_ROWS`` rows,
cut by a hash of the suite's key; landing batches are cut into frames first
(``dagster_project/quality/batches.py``). Each validation can be stored for the Data Docs
(``dagster_project/quality/data_docs.py``).

A build runs GX in a worker process (``gx_worker``) that imports it while the build starts,
ingests and runs dbt; without one (tests, a Dagster UI run, a worker that died) GX runs here.
GX is imported on the thread that runs the check, never on a background thread: an earlier
version imported it on a "warm-up" thread while the ingestion ran, and a module imported
by both threads at once (``sqlalchemy.orm``, which GX and Dagster's storage both load) was
seen half-initialised by one of them ("partially initialized module 'sqlalchemy.orm.exc'
has no attribute 'UnmappedClassError'"): about one build in seven failed at random.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster_project.quality.results import (
    SAMPLE_SIZE,
    ExpectationOutcome,
    SuiteResult,
    merge_outcomes,
)
from dagster_project.quality.suites import (
    FRAME_ROWS,
    Expectation,
    Suite,
    column_label,
    load_suite,
    needed_columns,
    select,
    severity_of,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from dagster_project.quality.data_docs import DataDocs

CHUNK_ROWS = 1_000_000
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}

_gx: tuple[Any, Any] | None = None  # (context, pandas batch definition)


def gx_context() -> tuple[Any, Any]:
    """This process's ephemeral GX context and its one pandas batch definition, made on
    first use by the calling thread."""
    global _gx
    if _gx is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from dagster_project.compat import cache_gx_templates, check

        check(["great-expectations"])
        cache_gx_templates()

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        batch_definition = (
            context.data_sources.add_pandas("product_metrics_quality")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
        _gx = (context, batch_definition)
    return _gx


@dataclass(frozen=True)
class DocsTarget:
    """Where a validation goes in the Data Docs: the site and the run name (what was
    validated, e.g. ``raw_invoices batch 12``)."""

    docs: DataDocs
    run: str


def _as_suite(suite: Suite | str | Path) -> Suite:
    return suite if isinstance(suite, dict) else load_suite(suite)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """pandas 3 reads text as its ``str`` dtype, which GX 1.24's type checks do not know:
    hand GX plain object columns instead (values unchanged)."""
    import pandas as pd

    text = [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)]
    if not text:
        return df
    out = df.copy(deep=False)
    for c in text:
        out[c] = out[c].astype(object)
    return out


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        text = str(info.get("exception_message") or "exception")
        return text.strip().splitlines()[-1][:200] if text.strip() else "exception"
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def _outcome(expectation: Expectation, gx_result: Any) -> ExpectationOutcome:
    res = dict(gx_result.result or {})
    error = _exception_message(gx_result.exception_info)
    unexpected = res.get("unexpected_count")
    if expectation["type"] == "expect_column_values_to_not_be_null":
        sample: list[Any] = []  # the values are all missing: nothing to show
    elif res.get("partial_unexpected_counts"):
        sample = [c["value"] for c in res["partial_unexpected_counts"]]
    else:
        sample = list(res.get("partial_unexpected_list") or [])
    observed = res.get("observed_value", unexpected)
    return ExpectationOutcome(
        type=expectation["type"],
        column=column_label(expectation),
        severity=severity_of(expectation),
        success=bool(gx_result.success) and error is None,
        observed=observed,
        unexpected_count=None if unexpected is None else int(unexpected),
        element_count=None if res.get("element_count") is None else int(res["element_count"]),
        unexpected_sample=tuple(sample[:SAMPLE_SIZE]),
        error=error,
    )


def _run_gx(df: pd.DataFrame, name: str, expectations: list[Expectation],
            parameters: dict[str, Any] | None = None, docs: DocsTarget | None = None,
            label: str = FRAME_ROWS) -> list[ExpectationOutcome]:
    """Validate in the build's GX worker when one runs (``gx_worker``), else here."""
    from dagster_project.quality import gx_worker

    worker = gx_worker.current()
    if worker is not None:
        try:
            outcomes = worker.call("validate", df, name, expectations, parameters,
                                   str(docs.docs.folder) if docs is not None else None,
                                   docs.run if docs is not None else None, label)
        except gx_worker.WorkerGone:
            gx_worker.forget()  # from now on GX runs in this process
        else:
            if docs is not None:
                docs.docs.recorded_elsewhere += 1
            return list(outcomes)
    return run_gx_here(df, name, expectations, parameters, docs, label)


def run_gx_here(df: pd.DataFrame, name: str, expectations: list[Expectation],
                parameters: dict[str, Any] | None = None, docs: DocsTarget | None = None,
                label: str = FRAME_ROWS) -> list[ExpectationOutcome]:
    """Validate with this process's GX context."""
    import great_expectations as gx

    tagged = []
    for i, e in enumerate(expectations):
        e = {**e, "meta": {**(e.get("meta") or {}), "_position": i}}
        tagged.append(e)
    suite = gx.ExpectationSuite(name=name, expectations=tagged)
    context, batch_definition = gx_context()
    validation = (
        batch_definition
        .get_batch(batch_parameters={"dataframe": df})
        .validate(suite, result_format=RESULT_FORMAT, expectation_parameters=parameters or None)
    )
    if docs is not None:
        docs.docs.record(context, name, docs.run, label, validation)
    outcomes: list[ExpectationOutcome | None] = [None] * len(expectations)
    for r in validation.results:
        i = int(r.expectation_config.meta["_position"])
        outcomes[i] = _outcome(expectations[i], r)
    return [o for o in outcomes if o is not None]


def validate_frame(
    df: pd.DataFrame,
    suite: Suite | str | Path,
    *,
    frame: str = FRAME_ROWS,
    target: str | None = None,
    parameters: dict[str, Any] | None = None,
    docs: DocsTarget | None = None,
    label: str | None = None,
) -> SuiteResult:
    """Validate ``df`` against the suite's expectations of ``frame`` (``meta.frame``,
    default "rows"), with ``parameters`` for the suite's ``$PARAMETER`` values; stored for
    the Data Docs under ``docs`` with ``label`` (default: the frame's name)."""
    suite = _as_suite(suite)
    started = time.perf_counter()
    expectations = select(suite, frame)["expectations"]
    outcomes = _run_gx(_normalise(df), suite["name"], expectations, parameters, docs,
                       label or frame) if expectations else []
    return SuiteResult(
        suite=suite["name"],
        target=target or suite.get("meta", {}).get("table") or suite["name"],
        outcomes=tuple(outcomes),
        rows=len(df),
        engine="great_expectations",
        seconds=time.perf_counter() - started,
    )


def publish_docs(docs: DataDocs, later: bool = False) -> list[str]:
    """Render the Data Docs pages of the validations recorded for ``docs`` (in the worker,
    in this process or both); their paths relative to the folder. ``later``: the worker
    renders its pages once it has nothing else to do (before it stops at the latest), so
    that a build does not wait for them; their paths are the same."""
    from dagster_project.quality import gx_worker

    pages: list[str] = []
    if docs.recorded_elsewhere:
        worker = gx_worker.current()
        if worker is not None:
            try:
                pages += worker.call("publish", str(docs.folder), later)
            except gx_worker.WorkerGone:
                gx_worker.forget()  # its recorded results are gone with it: no pages
        docs.recorded_elsewhere = 0
    if docs.pending:
        pages += docs.publish(gx_context()[0])
    return pages


def quote_table(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    """The table's columns, or None when it does not exist. From the description of an
    empty result (~0.5 ms), not the catalog views (~4-6 ms each, ~40 calls a build)."""
    import duckdb

    try:
        result = con.execute(f"select * from {quote_table(table)} limit 0")
    except duckdb.CatalogException:
        return None
    columns = [str(c[0]) for c in result.description or []]
    result.fetchall()  # (duckdb 2.0: a result left unfinished blocks the connection)
    return columns or None


def _missing_column_outcomes(part: Suite, missing: set[str]) -> dict[int, ExpectationOutcome]:
    out = {}
    for i, e in enumerate(part["expectations"]):
        if e["type"] == "expect_table_columns_to_match_set":
            continue  # GX judges it on the columns present, naming the missing ones
        cols = set(needed_columns({"meta": {}, "expectations": [e]}))
        gone = sorted(cols & missing)
        if gone:
            out[i] = ExpectationOutcome(
                type=e["type"], column=column_label(e), severity=severity_of(e), success=False,
                error=f"column {', '.join(gone)} missing from the table",
            )
    return out


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: Suite | str | Path,
    *,
    frame: str = FRAME_ROWS,
    chunk_rows: int = CHUNK_ROWS,
    where: str | None = None,
    parameters: dict[str, Any] | None = None,
    docs: DocsTarget | None = None,
) -> SuiteResult:
    """Validate a warehouse table (its rows matching ``where``, a SQL condition, when
    given) with GX: only the columns the suite reads, at most ``chunk_rows`` rows in
    pandas at a time (chunks cut by a hash of ``meta.key``)."""
    suite = _as_suite(suite)
    started = time.perf_counter()
    present = table_columns(con, table)
    if present is None:
        return SuiteResult(suite["name"], table, (), rows=None,
                           note="table not built yet (no data for it); nothing to check")
    part = select(suite, frame)
    key = [c for c in suite["meta"].get("key", []) if c in present]
    wanted = needed_columns(part, extra=tuple(key))
    never = set(suite["meta"].get("never_read", []))
    if never & set(wanted):
        raise ValueError(f"suite {suite['name']} reads personal column(s) "
                         f"{sorted(never & set(wanted))}")
    missing = {c for c in wanted if c not in present}
    broken = _missing_column_outcomes(part, missing)
    runnable = {**part, "expectations": [
        e for i, e in enumerate(part["expectations"]) if i not in broken
    ]}
    columns = [c for c in wanted if c in present]
    filtered = f" where ({where})" if where else ""
    rows = con.execute(f"select count(*) from {quote_table(table)}{filtered}").fetchone()[0]
    chunks = max(1, math.ceil(rows / chunk_rows))
    select_list = ", ".join(f'"{c}"' for c in columns) or "1 as _none"
    spread = ", ".join(f'"{c}"' for c in (key or columns))
    results: list[SuiteResult] = []
    if runnable["expectations"]:
        for i in range(chunks):
            conditions = [c for c in (where, f"hash({spread}) % {chunks} = {i}"
                                      if chunks > 1 else None) if c]
            clause = " where " + " and ".join(f"({c})" for c in conditions) if conditions else ""
            df = con.execute(f"select {select_list} from {quote_table(table)}{clause}").df()
            results.append(validate_frame(
                df, runnable, frame=frame, target=table, parameters=parameters, docs=docs,
                label=frame if chunks == 1 else f"{frame} {i + 1} of {chunks}"))
    merged: dict[int, ExpectationOutcome] = dict(broken)
    run_positions = [i for i in range(len(part["expectations"])) if i not in broken]
    for pos, j in zip(run_positions, range(len(runnable["expectations"])), strict=True):
        merged[pos] = merge_outcomes([r.outcomes[j] for r in results])
    return SuiteResult(
        suite=suite["name"],
        target=table,
        outcomes=tuple(merged[i] for i in sorted(merged)),
        rows=rows,
        engine="great_expectations",
        seconds=time.perf_counter() - started,
        extra={"chunks": chunks, "columns_read": columns},
    )
