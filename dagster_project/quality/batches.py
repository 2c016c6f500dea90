"""A landing suite on the source's newest ingestion batch, judged against the batches
before it, executed by Great Expectations.

The batch is the newest ``ops.ingestion_batches`` row of the source; its rows are those of
``raw.<source>`` ingested then (``_ingested_at``), earlier rows are its history. The suite's
``$PARAMETER`` values come from that history (values seen, median, mean); without history
(the first batch) those expectations are not judged. Each expectation is validated on the
frame it names (``meta.frame``):

- ``rows``: the batch's rows, only the columns read, in chunks of at most 1 M rows;
- ``distinct:<column>``: the column's distinct values in the batch;
- ``references:<column>``: the batch's distinct ids with ``<column>_in_<source>``, the id
  when the referenced source holds it, else NULL;
- ``daily_volume``: one row per day of the batch whose 7 days before average at least
  ``min_daily_rows``: ``volume_ratio`` = the day's rows / that average (judged only when
  earlier batches exist: a first load has no recent history to compare with).

The frames are made by DuckDB; only aggregates and the batch's rows reach pandas, never the
history, and never a personal column.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import duckdb

from dagster_project.quality.gx_runner import (
    DocsTarget,
    quote_table,
    table_columns,
    validate_frame,
    validate_table,
)
from dagster_project.quality.results import SuiteResult
from dagster_project.quality.suites import FRAME_ROWS, Suite, frame_of


@dataclass(frozen=True)
class Batch:
    batch_id: int
    ingested_at: dt.datetime
    mode: str

    @property
    def label(self) -> str:
        return f"batch {self.batch_id}"


def newest_batch(con: duckdb.DuckDBPyConnection, source: str) -> Batch | None:
    if table_columns(con, "ops.ingestion_batches") is None:
        return None
    row = con.execute(
        "select batch_id, ingested_at, mode from ops.ingestion_batches where source = ? "
        "order by batch_id desc limit 1", [source]).fetchone()
    return Batch(int(row[0]), row[1], str(row[2])) if row else None


def _literal(value: dt.datetime) -> str:
    return f"timestamp '{value.isoformat(sep=' ')}'"


def history_parameters(con: duckdb.DuckDBPyConnection, table: str, suite: Suite,
                       before: str) -> dict[str, Any]:
    """The suite's ``$PARAMETER`` values from the rows matching ``before`` (the history);
    a parameter without history is left out."""
    params: dict[str, Any] = {}
    for e in suite["expectations"]:
        meta, kw = e.get("meta") or {}, e["kwargs"]
        column = kw.get("column")
        history = meta.get("history")
        if history == "seen_values":
            values = [r[0] for r in con.execute(
                f'select distinct "{column}" from {table} where {before} and "{column}" is not null '
                "order by 1").fetchall()]
            if values:
                params[f"{column}_seen"] = values
        elif history == "median":
            median = con.execute(
                f'select median("{column}") from {table} where {before}').fetchone()[0]
            if median is not None and median > 0:
                factor = float(meta["factor"])
                params[f"{column}_median_low"] = float(median) / factor
                params[f"{column}_median_high"] = float(median) * factor
        elif history == "mean":
            condition = kw.get("row_condition")
            extra = (f" and \"{condition['column']['name']}\" = '{condition['parameter']}'"
                     if condition else "")
            mean = con.execute(
                f'select avg("{column}") from {table} where {before}{extra}').fetchone()[0]
            if mean is not None:
                shift = float(meta["shift"])
                params[f"{column}_mean_low"] = float(mean) - shift
                params[f"{column}_mean_high"] = float(mean) + shift
    return params


def _judgeable(e: dict[str, Any], params: dict[str, Any]) -> bool:
    """False when a parameter the expectation needs has no history."""
    for value in e["kwargs"].values():
        if isinstance(value, dict) and "$PARAMETER" in value and value["$PARAMETER"] not in params:
            return False
    return True


def _frame_sql(suite: Suite, frame: str, table: str, in_batch: str) -> str:
    meta = suite["meta"]
    if frame.startswith("distinct:"):
        column = frame.split(":", 1)[1]
        return (f'select distinct "{column}" from {table} where {in_batch} '
                f'and "{column}" is not null')
    if frame.startswith("references:"):
        column = frame.split(":", 1)[1]
        ref_table, ref_column = meta["references"][column].rsplit(".", 1)
        ref_source = ref_table.split(".")[-1]
        return (
            f'select b."{column}", r.k as "{column}_in_{ref_source}" from '
            f'(select distinct "{column}" from {table} where {in_batch} '
            f'and "{column}" is not null) as b '
            f'left join (select distinct "{ref_column}" as k from {quote_table(ref_table)}) '
            f'as r on r.k = b."{column}"')
    if frame == "daily_volume":
        day = f"cast({meta['row_time']} as date)"
        window = int(meta["volume"]["window_days"])
        minimum = float(meta["volume"]["min_daily_rows"])
        # Rows per day only of the batch's days and the windows before them, not of
        # the whole table's history.
        return f"""
            with batch_days as (
                select distinct {day} as day from {table}
                where {in_batch} and {meta['row_time']} is not null),
            per_day as (
                select {day} as day, count(*) as day_rows from {table}
                where {meta['row_time']} is not null
                    and {day} >= (select min(day) from batch_days) - {window}
                    and {day} <= (select max(day) from batch_days)
                group by 1),
            judged as (
                select b.day, coalesce(d.day_rows, 0) as day_rows,
                       (select coalesce(sum(p.day_rows), 0) from per_day as p
                        where p.day >= b.day - {window} and p.day < b.day) / {window}.0
                           as recent_daily_avg
                from batch_days as b left join per_day as d on d.day = b.day)
            select day, day_rows, recent_daily_avg, day_rows / recent_daily_avg as volume_ratio
            from judged where recent_daily_avg >= {minimum} order by day"""
    raise ValueError(f"unknown frame {frame!r} in suite {suite['name']}")


def validate_batch(con: duckdb.DuckDBPyConnection, source: str, suite: Suite,
                   docs: Any = None) -> SuiteResult:
    """Validate the source's newest batch with GX (``docs``: a DataDocs to store the
    results in). The result names the batch and what was not judged."""
    started = time.perf_counter()
    table = f"raw.{source}"
    if table_columns(con, table) is None:
        return SuiteResult(suite["name"], table, (), note="table not built yet (no data "
                           "landed); nothing to check")
    batch = newest_batch(con, source)
    if batch is None:
        return SuiteResult(suite["name"], table, (), note="no ingestion batch yet; nothing "
                           "to check")
    literal = _literal(batch.ingested_at)
    in_batch, before = f"_ingested_at = {literal}", f"_ingested_at < {literal}"
    target = f"{table} {batch.label}"
    rows = int(con.execute(f"select count(*) from {table} where {in_batch}").fetchone()[0])
    if rows == 0:
        return SuiteResult(suite["name"], target, (), rows=0, note=(
            f"{batch.label} ({batch.mode}) added no rows; nothing new to judge"))
    params = history_parameters(con, table, suite, before)
    has_history = con.execute(f"select 1 from {table} where {before} limit 1").fetchone() is not None
    judged = [e for e in suite["expectations"] if _judgeable(e, params)
              and (has_history or not (e.get("meta") or {}).get("history"))]
    skipped = len(suite["expectations"]) - len(judged)
    small = [e for e in judged if rows < int((e.get("meta") or {}).get("min_rows", 0))]
    judged = [e for e in judged if e not in small]
    # a referenced source that has not landed yet cannot say which ids it knows
    missing_refs = sorted({ref.rsplit(".", 1)[0] for ref in suite["meta"].get("references",
                                                                               {}).values()
                           if table_columns(con, ref.rsplit(".", 1)[0]) is None})
    unreferenced = [e for e in judged if frame_of(e).startswith("references:") and
                    suite["meta"]["references"][frame_of(e).split(":", 1)[1]].rsplit(".", 1)[0]
                    in missing_refs]
    judged = [e for e in judged if e not in unreferenced]
    part = {**suite, "expectations": judged}
    target_docs = DocsTarget(docs, f"{suite['name']} {batch.label}") if docs else None
    outcomes = []
    frames: list[str] = []
    for e in judged:
        if frame_of(e) not in frames:
            frames.append(frame_of(e))
    for frame in frames:
        if frame == FRAME_ROWS:
            result = validate_table(con, table, part, where=in_batch, parameters=params,
                                    docs=target_docs)
        else:
            df = con.execute(_frame_sql(suite, frame, table, in_batch)).df()
            if df.empty:
                continue  # e.g. no day with enough history to judge volume
            result = validate_frame(df, part, frame=frame, target=target, parameters=params,
                                    docs=target_docs, label=frame.replace(":", " "))
        outcomes.extend(result.outcomes)
    notes = []
    if skipped:
        notes.append(f"{skipped} expectation(s) not judged: no earlier batch to compare with")
    if small:
        notes.append(f"{len(small)} not judged: fewer rows than a drift needs "
                     f"({rows} < {min(int(e['meta']['min_rows']) for e in small)})")
    if unreferenced:
        notes.append(f"{len(unreferenced)} not judged: {', '.join(missing_refs)} not landed yet")
    note = "; ".join(notes) or None
    return SuiteResult(
        suite=suite["name"], target=target, outcomes=tuple(outcomes), rows=rows,
        seconds=time.perf_counter() - started, note=note,
        extra={"batch_id": batch.batch_id, "batch_mode": batch.mode,
               "ingested_at": batch.ingested_at.isoformat(sep=" ")},
    )

