"""Deterministic, vectorised demo data for every landing source (docs/LANDING.md).

    generate(Path("data/landing"), customers=1000, days=730)   # ~1M product events
    land_next_day(Path("data/landing"), customers=1000, days=730)  # the nightly drop

The same arguments give byte-identical files. ``generate`` lands days ``0 .. days-1``
from ``start``; ``land_next_day`` lands what became known on day ``days`` (new customers,
events, invoices, ... and late events) into new ``dt=<that day>`` files, consistent with
what ``generate`` wrote, because both simulate the same world (see ``timeline``).

Layout (``<out>/<source>/...``; ``dt=`` is the first day of the month a row *landed*
in, e.g. a late event or a re-landed customer sits in a later month than it happened):

=====================  ==========  ==============================================
customers              CSV         dt=YYYY-MM-01/customers.csv, customers_updates.csv
users                  CSV         dt=YYYY-MM-01/users.csv
product_events         Parquet     dt=YYYY-MM-01/events.parquet
subscription_events    CSV         dt=YYYY-MM-01/subscription_events.csv
invoices               JSONL       dt=YYYY-MM-01/invoices.jsonl
bookings               Parquet     dt=YYYY-MM-01/bookings.parquet
marketing_spend        CSV.gz      dt=YYYY-MM-01/marketing_spend.csv.gz
leads                  NDJSON      dt=YYYY-MM-01/leads.ndjson
survey_responses       JSONL       dt=YYYY-MM-01/survey_responses.jsonl
releases               JSONL.gz    releases.jsonl.gz (one snapshot, not re-landed nightly)
=====================  ==========  ==============================================

``land_next_day`` writes the same names under ``dt=<next day>/``. Gzip is used only for
small sources: DuckDB compresses on one thread at about 2 µs a row.

With ``bad_rows=True`` each source also gets ``zz_bad_rows.csv`` (sorted last) holding a
few contract-breaking rows for demonstrating the quarantine.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dagster_project.errors import MetricsError
from dagster_project.generate import catalog as cat
from dagster_project.generate.events import (
    MAX_DELAY_DAYS,
    EventBatch,
    month_events,
    property_vocabulary,
)
from dagster_project.generate.sources import World, build_world, event_select, tables
from dagster_project.generate.writer import connect, write_parts, write_rows

__all__ = ["GENERATED_SOURCES", "GenerateSummary", "generate", "land_next_day"]

GENERATED_SOURCES = (
    "customers", "users", "product_events", "subscription_events", "invoices", "bookings",
    "marketing_spend", "leads", "survey_responses", "releases",
)
# seeds/fx_rates.csv covers these months: money in EUR/GBP needs a rate on its date.
FX_FIRST, FX_LAST = date(2020, 1, 1), date(2028, 12, 31)


@dataclass
class GenerateSummary:
    out_dir: Path
    customers: int
    days: int
    start: date
    seed: int
    first_day: date
    last_day: date
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def events_per_second(self) -> float:
        return self.rows.get("product_events", 0) / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        span = (f"{self.first_day}" if self.first_day == self.last_day
                else f"{self.first_day} .. {self.last_day}")
        lines = [
            (f"Demo data: {self.customers:,} customers, {span} (seed {self.seed}) "
             f"-> {self.out_dir}"),
            f"  {'source':<22}{'rows':>12}{'files':>7}",
        ]
        for source in GENERATED_SOURCES:
            if source in self.rows:
                lines.append(f"  {source:<22}{self.rows[source]:>12,}{self.files.get(source, 0):>7}")
        lines.append(f"  {'total':<22}{self.total_rows:>12,}{sum(self.files.values()):>7}")
        if self.bad_rows:
            lines.append(f"  plus {sum(self.bad_rows.values())} contract-breaking rows in "
                         f"<source>/zz_bad_rows.csv (for the quarantine demo)")
        lines.append(f"  {self.seconds:.2f} s, {self.events_per_second:,.0f} product events/s")
        return "\n".join(lines)


def _check(out_dir: Path, customers: int, days: int, start: date) -> None:
    if customers < 1:
        raise MetricsError(f"generate: customers must be at least 1, got {customers}")
    if days < 1:
        raise MetricsError(f"generate: days must be at least 1, got {days}")
    end = date.fromordinal(start.toordinal() + days)
    if start < FX_FIRST or end > FX_LAST:
        raise MetricsError(
            f"generate: {start} .. {end} is outside {FX_FIRST} .. {FX_LAST}, the months that "
            "seeds/fx_rates.csv covers; EUR and GBP amounts could not be converted"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise MetricsError(f"generate: {out_dir} exists and is not a folder")


def generate(
    out_dir: Path,
    customers: int = 1000,
    days: int = 730,
    start: date = date(2024, 1, 1),
    seed: int = 42,
    events_per_user_day: float | None = None,
    bad_rows: bool = False,
) -> GenerateSummary:
    """Write a demo landing folder: one folder per source under ``out_dir``.

    Each source folder this writes is replaced (other folders under ``out_dir``, such as
    ``fx_rates``, are left alone). ``events_per_user_day`` fixes the mean number of events
    of an active user-day; by default it is calibrated to about 1000 events per customer
    over two years (1M events for 1000 customers and 730 days).
    """
    return _write_world(out_dir, customers, days, start, seed, events_per_user_day,
                        nightly=False, bad_rows=bad_rows)


def land_next_day(
    out_dir: Path,
    customers: int = 1000,
    days: int = 730,
    start: date = date(2024, 1, 1),
    seed: int = 42,
    events_per_user_day: float | None = None,
) -> GenerateSummary:
    """Land the day after a ``generate(out_dir, customers, days, start, seed)`` window:
    rows that became known on day ``days`` go to new files ``<source>/dt=<day>/...``
    (late events of earlier days included). Earlier files are not touched."""
    return _write_world(out_dir, customers, days, start, seed, events_per_user_day,
                        nightly=True)


def _write_world(out_dir: Path, customers: int, days: int, start: date, seed: int,
                 events_per_user_day: float | None, *, nightly: bool, bad_rows: bool = False
                 ) -> GenerateSummary:
    """Simulate the world of these arguments and write its landed window (replacing each
    source folder) or, ``nightly``, only its next day (new files beside the earlier ones)."""
    out_dir = Path(out_dir)
    _check(out_dir, customers, days, start)
    t0 = time.perf_counter()
    w = build_world(customers, days, start, seed, events_per_user_day)
    if nightly:
        first_day = last_day = w.tl.next_day
    else:
        for source in GENERATED_SOURCES:
            shutil.rmtree(out_dir / source, ignore_errors=True)
        first_day, last_day = start, w.tl.last_day
    summary = GenerateSummary(out_dir, customers, days, start, seed, first_day, last_day)
    con = connect()
    try:
        _write_all(con, w, out_dir, summary, nightly=nightly)
        if bad_rows:
            from dagster_project.generate.bad_rows import write_bad_rows

            summary.bad_rows = write_bad_rows(con, w, out_dir)
    finally:
        con.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _write_all(con: duckdb.DuckDBPyConnection, w: World, out_dir: Path,
               summary: GenerateSummary, nightly: bool) -> None:
    """Small sources on a second connection while product events are written: their many
    small files cost latency more than CPU, so the two overlap well on two cores."""
    for source in GENERATED_SOURCES:  # fixed key order, whichever thread counts first
        summary.rows[source] = 0
        summary.files[source] = 0
    side = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            tables_done = pool.submit(_write_tables, side, w, out_dir, summary, nightly)
            _write_events(con, w, out_dir, summary, nightly)
            tables_done.result()
    finally:
        side.close()


def _count(summary: GenerateSummary, source: str, rows: int) -> None:
    summary.rows[source] = summary.rows.get(source, 0) + rows
    summary.files[source] = summary.files.get(source, 0) + 1


def _write_tables(con: duckdb.DuckDBPyConnection, w: World, out_dir: Path,
                  summary: GenerateSummary, nightly: bool) -> None:
    tl = w.tl
    for table in tables(w):
        folder = out_dir / table.source
        name = f"{table.stem}.{table.fmt}"
        if table.landed_day is None:  # reference data: one file, landed once
            if not nightly:
                _count(summary, table.source,
                       write_rows(con, folder / name, table.arrays, table.select, table.fmt))
            continue
        day = table.landed_day
        if nightly:
            rows = np.flatnonzero(day == tl.days)
            if len(rows):
                path = folder / f"dt={tl.next_day}" / name
                _count(summary, table.source, write_rows(
                    con, path, {k: v[rows] for k, v in table.arrays.items()}, table.select,
                    table.fmt))
            continue
        rows = np.flatnonzero(day < tl.days)
        month = tl.month_index(np.maximum(day[rows], 0))
        paths = {folder / f"dt={tl.month_starts[m]}" / name: int(m) for m in np.unique(month)}
        written = write_parts(con, paths, {k: v[rows] for k, v in table.arrays.items()}, month,
                              table.select, table.fmt)
        for n in written.values():
            _count(summary, table.source, n)


def _write_events(con: duckdb.DuckDBPyConnection, w: World, out_dir: Path,
                  summary: GenerateSummary, nightly: bool) -> None:
    """Product events month by month. A file holds the events that *arrived* in its month
    (late ones from the month before included); events arriving after the landed window
    wait for a later drop."""
    tl, u, plan = w.tl, w.users, w.events
    select = event_select(tl)

    vocab = property_vocabulary()[0]

    def write(path: Path, parts: list[EventBatch]) -> None:
        b = EventBatch.concat(parts)
        if len(b) == 0:
            return
        arrays = {
            "t": b.t, "user": b.user, "anon": b.anon, "no": b.no,
            "event_name": pd.Categorical.from_codes(b.code, categories=cat.EVENT_NAMES),
            "properties": pd.Categorical.from_codes(b.prop, categories=vocab),
        }
        _count(summary, "product_events", write_rows(con, path, arrays, select, "parquet"))

    if nightly:
        first = int(tl.month_index(np.array([max(tl.days - MAX_DELAY_DAYS, 0)]))[0])
        parts = []
        for m in range(first, int(tl.month[tl.days]) + 1):
            b = month_events(tl, u, plan, w.seed, m)
            parts.append(b.take(np.flatnonzero(b.arrival_day == tl.days)))
        write(out_dir / "product_events" / f"dt={tl.next_day}" / "events.parquet", parts)
        return

    carry: EventBatch | None = None
    months = range(int(tl.month[tl.days - 1]) + 1)
    # The next month is drawn (numpy, one core) while DuckDB writes this one (the other
    # core); each month has its own random stream, so the overlap changes no byte.
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(month_events, tl, u, plan, w.seed, 0)
        for m in months:
            b = ahead.result()
            if m + 1 in months:
                ahead = pool.submit(month_events, tl, u, plan, w.seed, m + 1)
            arrival_month = tl.month_index(b.arrival_day)
            landed = b.arrival_day < tl.days
            own = b.take(np.flatnonzero((arrival_month == m) & landed))
            write(out_dir / "product_events" / f"dt={tl.month_starts[m]}" / "events.parquet",
                  [own] if carry is None else [carry, own])
            carry = b.take(np.flatnonzero((arrival_month > m) & landed))
