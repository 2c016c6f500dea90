"""``ingest_source``: new landing files -> landed.<source> -> raw.<source>, ops.quarantine,
ops.ingestion_log. See the package docstring for the contract it implements."""

from __future__ import annotations

import csv
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES
from dagster_project.errors import MetricsError
from dagster_project.ingest import fx as fxmod
from dagster_project.ingest import kept
from dagster_project.ingest.changes import ensure_change_tables, record_batch
from dagster_project.ingest.derive import (
    FxRule,
    can_derive_incrementally,
    check_invariants,
    current_fingerprint,
    derivation_fingerprint,
    derive,
    derive_incremental,
    drop_temp_tables,
)
from dagster_project.ingest.files import Fingerprint, LandingFile, discover, fingerprint
from dagster_project.ingest.readers import (
    EmptyHeaderError,
    UnnumberableFileError,
    jsonl_batches,
    load_file,
    load_jsonl_batch,
    load_parquet_batch,
    parquet_batches,
)
from dagster_project.ingest.redact import redact
from dagster_project.ingest.schema import (
    INGESTED,
    UNREADABLE,
    ensure_base,
    ensure_source_tables,
    first_row,
    landed_rows_table,
    landed_table,
    prepare_warehouse,
    scalar,
)

MAX_MESSAGES = 50
QUARANTINE_SAMPLE = 10
_MAX_MESSAGE_CHARS = 300

# Errors that mean "this file cannot be read" (corrupt gzip or Parquet, broken header...).
# Anything else (out of memory, interrupts, bugs in our SQL) propagates.
_FILE_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.IOException,
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    OSError,
    EOFError,
    zlib.error,
    csv.Error,
    UnicodeError,
    EmptyHeaderError,
    UnnumberableFileError,
    kept.CorruptParquetError,
)


@dataclass
class SourceIngestResult:
    """What one ``ingest_source`` call did. Row counts are totals over all ingested files
    of the source (not only this run's); ``files_*`` are about this run."""

    source: str
    files_seen: int = 0  # landable files found under <landing>/<source>/
    files_ingested: int = 0  # new (or changed) files loaded this run
    files_skipped: int = 0  # content already ingested (same or another path)
    landed_rows: int = 0
    accepted_rows: int = 0
    quarantined_rows: int = 0
    messages: list[str] = field(default_factory=list)  # a sample of human-readable warnings
    # "<file>: line <n>: <reason>" for the first quarantined rows of the source
    quarantine_sample: list[str] = field(default_factory=list)
    derived: bool = False  # raw/quarantine/log counts were rebuilt this run
    # "full" (every landed row re-derived), "incremental" (only the new files' rows and
    # the key groups they share), or "" when nothing changed.
    derive_mode: str = ""
    derived_rows: int = 0  # landed rows re-classified this run
    batch_id: int | None = None  # ops.ingestion_batches row of this run's change
    # (file, bytes, error) of the source's files that could not be read at all and are
    # still in the landing folder (whenever they were logged): they hold no rows.
    unreadable: list[tuple[str, int, str]] = field(default_factory=list)
    # This run: files whose content changed in place (rows replaced, the earlier version in
    # ops.file_history), and (copy, already ingested file) pairs skipped as copies.
    replaced: list[str] = field(default_factory=list)
    copies: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, message: str) -> None:
        if len(self.messages) < MAX_MESSAGES:
            message = message.replace("\r", "\\r").replace("\n", "\\n")
            if len(message) > _MAX_MESSAGE_CHARS:
                message = message[: _MAX_MESSAGE_CHARS - 3] + "..."
            self.messages.append(message)

    def to_metadata(self) -> dict[str, object]:
        """Plain values for Dagster metadata (ints, floats and one text)."""
        as_they_are = ("source", "files_seen", "files_ingested", "files_skipped", "landed_rows",
                       "accepted_rows", "quarantined_rows")
        return {
            **{name: getattr(self, name) for name in as_they_are},
            "quarantined_share": (
                self.quarantined_rows / self.landed_rows if self.landed_rows else 0.0
            ),
            "derived": self.derived,
            "derive_mode": self.derive_mode or "unchanged",
            "derived_rows": self.derived_rows,
            "batch_id": self.batch_id if self.batch_id is not None else "none",
            "unreadable_files": len(self.unreadable),
            "files_changed_in_place": len(self.replaced),
            "copies_skipped": len(self.copies),
            "seconds": round(self.seconds, 3),
            "messages": "\n".join(self.messages) if self.messages else "(none)",
        }


def _utc_naive(now: datetime | None) -> datetime:
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _is_file_error(error: BaseException, file: LandingFile) -> bool:
    """Is ``error`` about this file's bytes (not about the machine)? DuckDB's IO errors
    name the file when the file is at fault (corrupt or truncated gzip); other IO errors
    (a full disk while spilling) must fail the run instead of marking the file broken."""
    if isinstance(error, duckdb.IOException):
        return str(file.path) in str(error) or file.path.name in str(error)
    return isinstance(error, _FILE_ERRORS)


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    source: str,
    now: datetime | None = None,
    rederive: bool = False,
    fx: fxmod.FxSettings | None = None,
) -> SourceIngestResult:
    """Ingest the new files of one source and re-derive the source.

    * Files: ``landing_dir/<source>/**`` with a landing suffix, in order of their path
      relative to the source folder. A missing or empty folder means no data (tables
      exist, empty).
    * A file whose sha256 is already in ops.ingestion_log for the source is skipped,
      under any path. A logged path whose content changed has its rows replaced.
    * Each new file is loaded into landed.<source> (as text rows, or a Parquet file kept
      as it is: ``kept``) and logged in its own transaction, so a crash never leaves a
      file half-loaded or loaded without its log row. A run of new Parquet files of one
      schema is kept together in one transaction (one statement decodes them, DuckDB
      reading them in parallel); if any of them cannot be read that way, the run is
      rolled back and its files are loaded one by one. Copies of kept files that a
      rollback or a replaced file left unregistered are deleted first (``kept.sweep``).
    * A file DuckDB cannot read at all (corrupt gzip/Parquet, ...) does not stop the
      others: it is logged and lands as ONE row with ``_read_error`` (line NULL), which is
      quarantined: its log row says landed_rows = quarantined_rows = 1, accepted_rows = 0,
      so landed = accepted + quarantined still holds. The same bytes are not retried
      (land a fixed file, which has another hash).
    * Then, if anything changed (or the derivation code changed, or a previous run died
      before deriving), raw.<source>, its ops.quarantine rows and the log counts are
      derived again in one transaction, and the invariant landed = accepted +
      quarantined is checked per file (``IngestionInvariantError``). When only new files
      arrived, only their rows and the rows sharing a key with them are re-derived
      (``derive_incremental``: the same result, at the cost of the new files); after a
      replaced file, new rules, or for a source with an ownership rule, every landed row
      is (``derive``). Either way the change is logged in ``ops.ingestion_batches``
      (see ``changes``).

    * Money sources (``Source.fx_date``) judge each row's currency against the rates
      resolved to the reporting currency (``fx``; resolved first if the rate table
      changed): a row with no rate on or before its day is quarantined. When the reporting
      currency cannot be reached at all and the source holds other currencies, the call
      raises :class:`fx.FxTableError` after deriving. A refused rate table (``fx.resolve``)
      raises it before anything is read.

    ``now`` (default: the current time) is stored as ``ingested_at``; naive values are UTC.
    ``rederive`` derives every landed row again even when nothing changed (a full refresh).
    ``fx`` (default: USD, UTC, the shipped seed) is the reporting currency and time zone.
    """
    if source not in SOURCES:
        raise MetricsError(f"unknown source {source!r}; known sources: {', '.join(SOURCES)}")
    started = time.monotonic()
    # The readers number a file's lines in the order its rows arrive (derive turns this off
    # for its own statements, which name rows by rowid, file and line).
    con.execute("set preserve_insertion_order = true")
    ingested_at = _utc_naive(now)
    result = SourceIngestResult(source=source)
    ensure_base(con)
    ensure_change_tables(con)
    ensure_source_tables(con, source)
    kept.sweep(con, source)
    fx = fx or fxmod.FxSettings()
    rule: FxRule | None = None
    if SOURCES[source].fx_date:
        ensure_source_tables(con, "fx_rates")
        fxmod.ensure_resolved(con, fx)
        rule = FxRule(fx.currency, fx.reporting_timezone, fxmod.coverage_state(con))

    files, ignored = discover(Path(landing_dir), source)
    result.files_seen = len(files)
    if ignored:
        shown = ", ".join(ignored[:5]) + (f" and {len(ignored) - 5} more" if len(ignored) > 5 else "")
        result.add(f"{source}: ignored {len(ignored)} file(s) that are not landing files "
                   f"(.csv, .jsonl, .ndjson, optionally .gz, .parquet; not hidden): {shown}")

    logged: dict[str, str] = dict(
        con.execute(
            "select file, content_hash from ops.ingestion_log where source = ?", [source]
        ).fetchall()
    )
    prints: dict[str, Fingerprint] = {}
    for f in files:
        try:
            prints[f.name] = fingerprint(f)
        except OSError as exc:  # e.g. permissions; not logged, so retried next run
            result.add(f"{f.name}: cannot read the file, will retry next run: {_first_line(exc)}")

    changed_paths = {
        name for name, fp in prints.items() if name in logged and logged[name] != fp.content_hash
    }
    known: dict[str, str] = {h: name for name, h in logged.items() if name not in changed_paths}
    to_load: list[LandingFile] = []
    drop_only: list[str] = []  # changed paths whose new content is skipped
    for f in files:
        fp = prints.get(f.name)
        if fp is None:
            continue
        if logged.get(f.name) == fp.content_hash:
            result.files_skipped += 1
            continue
        if f.name in changed_paths:
            result.add(f"{f.name}: content changed since it was ingested (files are meant to be "
                       "immutable): its rows are replaced")
        if f.name in changed_paths:
            result.replaced.append(f.name)
        if fp.content_hash in known:
            result.files_skipped += 1
            result.add(f"{f.name}: same content as {known[fp.content_hash]}, already ingested: "
                       "skipped")
            if _record_copy(con, source, f.name, fp.content_hash, known[fp.content_hash],
                            ingested_at):
                result.copies.append((f.name, known[fp.content_hash]))
            if f.name in changed_paths:
                drop_only.append(f.name)
            continue
        known[fp.content_hash] = f.name
        to_load.append(f)

    for batch in _batches(con, to_load, changed_paths):
        if len(batch) > 1 and _ingest_batch(con, source, batch, prints, ingested_at, result):
            result.files_ingested += len(batch)
            continue
        for f in batch:
            _ingest_file(con, source, f, prints[f.name], ingested_at,
                         replace=f.name in changed_paths, result=result)
            result.files_ingested += 1

    # Logged but not derived yet: this run's files, or files of a run that died before
    # deriving them.
    pending = [
        str(r[0]) for r in con.execute(
            "select file from ops.ingestion_log where source = ? and "
            "(accepted_rows is null or quarantined_rows is null) order by file",
            [source],
        ).fetchall()
    ]
    stale = rederive or current_fingerprint(con, source) != derivation_fingerprint(source, rule)
    replaced = bool(drop_only or changed_paths)
    if pending or replaced or stale:
        incremental = not (replaced or stale) and can_derive_incrementally(source)

        def rebuild() -> None:
            if incremental:
                touched = derive_incremental(con, source, pending, fx=rule)
                result.derived_rows = int(scalar(con, "select count(*) from temp._ingest_cls"))
                result.batch_id = record_batch(con, source, "incremental", len(touched),
                                               result.derived_rows, ingested_at,
                                               classified="temp._ingest_cls")
                drop_temp_tables(con)
            else:
                _drop_files(con, source, drop_only, ingested_at)
                derive(con, source, fx=rule)
                # derive checked each file's landed rows against the log (check_invariants):
                # the log's sums say it without another read of every landed row.
                files_now, derived = first_row(
                    con, "select count(*), coalesce(sum(landed_rows), 0) from ops.ingestion_log "
                    "where source = ?", [source]) or (0, 0)
                result.derived_rows = int(derived)
                files_now = int(files_now)
                result.batch_id = record_batch(con, source, "full", files_now,
                                               result.derived_rows, ingested_at)

        _transaction(con, rebuild)
        result.derived = True
        result.derive_mode = "incremental" if incremental else "full"
    else:
        check_invariants(con, source)

    totals = first_row(
        con,
        "select coalesce(sum(landed_rows), 0), coalesce(sum(accepted_rows), 0), "
        "coalesce(sum(quarantined_rows), 0) from ops.ingestion_log where source = ?",
        [source],
    )
    assert totals is not None
    result.landed_rows, result.accepted_rows, result.quarantined_rows = (int(v) for v in totals)
    if result.quarantined_rows:
        _quarantine_messages(con, result)
    present = {f.name for f in files}
    result.unreadable = [
        (str(name), int(size or 0), str(error or "cannot read file"))
        for name, size, error in con.execute(
            "select file, file_bytes, error from ops.ingestion_log where source = ? and "
            "status = ? order by file", [source, UNREADABLE]).fetchall()
        if name in present
    ]
    result.seconds = time.monotonic() - started
    if rule is not None and not fxmod.reachable(con, fx):
        others = [str(r[0]) for r in con.execute(
            f"select distinct upper(trim(currency)) as c from {landed_table(source)} "
            "where regexp_full_match(upper(trim(currency)), '[A-Z]{3}') and upper(trim(currency)) <> ? "
            "order by 1 limit 10", [fx.currency]).fetchall()]
        if others:
            raise fxmod.FxTableError(fxmod.unreachable_message(con, fx, source, others))
    return result


def ingest_all(con: duckdb.DuckDBPyConnection, landing_dir: Path,
               now: datetime | None = None,
               fx: fxmod.FxSettings | None = None) -> dict[str, SourceIngestResult]:
    """Prepare the warehouse and ingest every source of the contract: fx_rates first (the
    money sources are judged against its rates), then in contract order."""
    prepare_warehouse(con)
    order = ["fx_rates", *(s for s in SOURCES if s != "fx_rates")]
    results = {source: ingest_source(con, landing_dir, source, now=now, fx=fx) for source in order}
    return {source: results[source] for source in SOURCES}


def _transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], None]) -> None:
    con.execute("begin transaction")
    try:
        work()
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _record_copy(con: duckdb.DuckDBPyConnection, source: str, name: str, content_hash: str,
                 same_as: str, at: datetime) -> bool:
    """Record a skipped copy in ops.file_history once; True when it is new."""
    seen = con.execute(
        "select count(*) from ops.file_history where source = ? and file = ? and "
        "content_hash = ? and event = 'skipped_copy'", [source, name, content_hash]).fetchall()
    if seen[0][0]:
        return False
    con.execute(
        "insert into ops.file_history (source, file, content_hash, event, same_as, recorded_at) "
        "values (?, ?, ?, 'skipped_copy', ?, ?)", [source, name, content_hash, same_as, at])
    return True


def _drop_files(con: duckdb.DuckDBPyConnection, source: str, names: list[str],
                at: datetime) -> None:
    """Remove files' rows and log rows (their content changed); the log rows are kept as
    the files' earlier versions in ops.file_history."""
    for name in names:
        con.execute(
            "insert into ops.file_history select source, file, content_hash, 'replaced', NULL, "
            "landed_rows, accepted_rows, quarantined_rows, ingested_at, ? from ops.ingestion_log "
            "where source = ? and file = ?", [at, source, name])
    for name in names:
        con.execute(f"delete from {landed_rows_table(source)} where _file = ?", [name])
        con.execute("delete from ops.ingestion_log where source = ? and file = ?", [source, name])
    kept.forget(con, source, names)


def _log_file(con: duckdb.DuckDBPyConnection, source: str, f: LandingFile, fp: Fingerprint,
              rows: int, ingested_at: datetime, error: str | None = None) -> None:
    """Log a file: read (counts set by the derive) or unreadable (no rows, counts 0)."""
    _log_files(con, source, [(f, fp, rows)], ingested_at, error)


def _log_files(con: duckdb.DuckDBPyConnection, source: str,
               files: list[tuple[LandingFile, Fingerprint, int]], ingested_at: datetime,
               error: str | None = None) -> None:
    """Log files (file, fingerprint, rows) with one statement (one per file cost ~1 ms
    each: 25 files, a twentieth of their ingestion)."""
    counts = "NULL, NULL" if error is None else "0, 0"
    status = INGESTED if error is None else UNREADABLE
    con.execute(
        "insert into ops.ingestion_log (source, file, content_hash, landed_rows, accepted_rows, "
        "quarantined_rows, ingested_at, file_bytes, status, error) values "
        + ", ".join(f"(?, ?, ?, ?, {counts}, ?, ?, ?, ?)" for _ in files),
        [v for f, fp, rows in files
         for v in (source, f.name, fp.content_hash, rows, ingested_at, f.size, status, error)],
    )


def _batches(con: duckdb.DuckDBPyConnection, files: list[LandingFile],
             changed_paths: set[str]) -> list[list[LandingFile]]:
    """The files to load, in order, as batches: runs of new Parquet files of one schema
    and runs of new JSON-lines files of one compression (each landed together), every
    other file alone."""
    batches: list[list[LandingFile]] = []
    run: list[LandingFile] = []
    for f in [*files, None]:
        if (f is not None and f.format in ("parquet", "jsonl") and f.name not in changed_paths
                and (not run or run[-1].format == f.format)):
            run.append(f)
            continue
        if run:
            batches += (parquet_batches(con, run) if run[0].format == "parquet"
                        else jsonl_batches(run))
            run = []
        if f is not None:
            if f.format in ("parquet", "jsonl") and f.name not in changed_paths:
                run.append(f)
            else:
                batches.append([f])
    return batches


def _ingest_batch(con: duckdb.DuckDBPyConnection, source: str, files: list[LandingFile],
                  prints: dict[str, Fingerprint], ingested_at: datetime,
                  result: SourceIngestResult) -> bool:
    """Land and log several Parquet or JSON-lines files in one transaction and one
    statement; False (and nothing landed) when any of them cannot be read that way: they
    are then landed one by one, which names the file at fault."""
    con.execute("begin transaction")
    try:
        if files[0].format == "parquet":
            loads = load_parquet_batch(con, source, files, ingested_at)
        else:
            loads = load_jsonl_batch(con, source, files, prints, ingested_at)
        _log_files(con, source, [(f, prints[f.name], load.rows)
                                 for f, load in zip(files, loads, strict=True)], ingested_at)
    except BaseException as exc:
        con.execute("rollback")
        if isinstance(exc, _FILE_ERRORS):
            return False
        raise
    con.execute("commit")
    for load in loads:
        for message in load.messages:
            result.add(message)
    return True


def _ingest_file(con: duckdb.DuckDBPyConnection, source: str, f: LandingFile, fp: Fingerprint,
                 ingested_at: datetime, replace: bool, result: SourceIngestResult) -> None:
    """Load one file and log it (accepted/quarantined stay NULL until ``derive``)."""
    con.execute("begin transaction")
    try:
        if replace:
            _drop_files(con, source, [f.name], ingested_at)
        load = load_file(con, source, f, fp, ingested_at)
        _log_file(con, source, f, fp, load.rows, ingested_at)
    except BaseException as exc:
        con.execute("rollback")
        if not _is_file_error(exc, f):
            raise
        error = redact(_first_line(exc).replace(str(f.path), f.name), keep=(f.name,))
        result.add(f"{f.name}: cannot read the file ({f.size:,} bytes): {error}; logged as "
                   "unreadable (no rows)")

        def unreadable() -> None:
            if replace:
                _drop_files(con, source, [f.name], ingested_at)
            _log_file(con, source, f, fp, 0, ingested_at, error=f"cannot read file: {error}")

        _transaction(con, unreadable)
        return
    con.execute("commit")
    for message in load.messages:
        result.add(message)


def _quarantine_messages(con: duckdb.DuckDBPyConnection, result: SourceIngestResult) -> None:
    result.add(
        f"{result.source}: {result.quarantined_rows} of {result.landed_rows} landed rows are "
        "quarantined (ops.quarantine)"
    )
    rows = con.execute(
        "select file, line, reason from ops.quarantine where source = ? "
        "order by file, line nulls first limit ?",
        [result.source, QUARANTINE_SAMPLE],
    ).fetchall()
    for file, line, reason in rows:
        where = f"{file}: line {line}" if line is not None else file
        result.quarantine_sample.append(f"{where}: {reason}")
        result.add(f"{where}: {reason}")

