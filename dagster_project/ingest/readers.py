"""Reading one landing file into ``landed.<source>`` with DuckDB's own readers: as text
rows into ``landed.<source>_rows``, or, for a Parquet file that can be, by keeping the
file as it is (``kept``), read as the same text rows through the ``landed.<source>`` view.

Every value lands as text. Columns are matched to the contract by name, case-insensitively
after trimming; unknown columns go to ``_extra`` (a JSON object); a required column
missing from the whole file sets ``_read_error`` on every row of the file.

Line numbers (``_line``) are physical lines of the file:

* CSV: the header is line 1. DuckDB's CSV reader returns no line numbers for good rows,
  but ``WITH ORDINALITY`` numbers the rows it returns in file order (also when it reads
  in parallel; tested) and ``store_rejects`` gives the line of each rejected row. When
  every record is one physical line and there is no blank line (the physical line count
  from the hashing pass says so), row ``k`` is line ``k + 1 + <rejected lines before
  it>``. Otherwise (blank lines, which DuckDB skips but counts, or quoted values spanning
  lines) a second pass reads the physical lines and finds where each record starts (a
  line starts a record when the quotes before it are balanced), so the numbers are still
  physical lines; if that pass disagrees with DuckDB (a stray quote inside an unquoted
  value), the numbers of the first way are kept and a message says they may be off.
  A file mixing CRLF and LF line ends (which DuckDB's strict reader refuses) is read from
  an LF-only temporary copy.
* JSONL: the physical line (``\\n`` or ``\\r\\n`` ends a line); blank lines are skipped.
* Parquet: ``file_row_number + 1``. A file with every required column and no column named
  ``file_row_number`` or ``filename`` is kept as it is (``kept``); consecutive new ones of
  one schema are kept together (``load_parquet_batch``: one statement decodes them all),
  with the same rows as file by file. Any other Parquet file lands as text rows.

JSON-lines files landed together (``load_jsonl_batch``) write their text rows as one
Parquet file beside the kept ones (``kept.keep_rows``) instead of into the rows table.

Malformed lines (CSV lines with too many or too few columns, unterminated quotes, invalid
UTF-8, over-long lines; JSON lines that are not a JSON object) land as one row each with
``_read_error`` and ``_raw_line`` set, so that they are quarantined, never dropped.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES, quote_literal, reads_natively
from dagster_project.ingest import kept
from dagster_project.ingest.files import Fingerprint, LandingFile, write_with_lf_line_ends
from dagster_project.ingest.redact import redact_sql
from dagster_project.ingest.schema import landed_columns, landed_rows_table, scalar

# Temp tables the readers use (connection-local; dropped after each file).
_ROWS = "_ingest_rows"
_BAD = "_ingest_bad_lines"
_GAPS = "_ingest_gaps"
_RECORDS = "_ingest_records"
_RECMAP = "_ingest_recmap"
_REJECTS = "_ingest_rejects"
_REJECT_SCANS = "_ingest_reject_scans"
_FIRSTS = "_ingest_firsts"  # per file of a batch: rows before its first, counts
_TEMP_TABLES = (_ROWS, _BAD, _GAPS, _RECORDS, _RECMAP, _REJECTS, _REJECT_SCANS, _FIRSTS)

NULL_TEXT = "cast(NULL as varchar)"

# Above this many distinct unknown keys in one JSONL file, _extra keeps the whole object.
_MAX_EXTRA_KEYS = 200


@dataclass
class FileLoad:
    rows: int = 0  # rows the file adds to landed.<source> (text rows or a kept file's)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FoundColumn:
    name: str  # as found in the file
    text: str  # SQL giving its value as text
    json: str  # SQL giving its value as JSON (for _extra)


@dataclass
class ColumnMap:
    exprs: dict[str, str]  # contract column -> SQL text expression
    extra: list[tuple[str, str]]  # (key in _extra, SQL JSON expression)
    missing_required: list[str]
    notes: list[str]


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def map_columns(source: str, found: list[FoundColumn], coalesce_variants: bool = False) -> ColumnMap:
    """Match found columns to the contract (case-insensitive, trimmed).

    A contract column found twice: in a table (CSV/Parquet) the first one wins and the
    other goes to ``_extra``; in JSONL (``coalesce_variants``) the variants are keys of
    different lines and the first non-null one is taken.
    """
    src = SOURCES[source]
    by_norm = {c.lower(): c for c in src.column_names}
    variants: dict[str, list[str]] = {}
    extra: list[tuple[str, str]] = []
    extra_names: set[str] = set()
    notes: list[str] = []
    for i, col in enumerate(found):
        target = by_norm.get(col.name.strip().lower())
        if target is not None and (coalesce_variants or target not in variants):
            variants.setdefault(target, []).append(col.text)
            continue
        if target is not None:
            notes.append(f"column {col.name!r} repeats column {target}: kept in _extra")
        key = col.name.strip() or f"column{i + 1}"
        while key in extra_names:
            key += "_"
        extra_names.add(key)
        extra.append((key, col.json))
    exprs = {
        name: (exprs[0] if len(exprs) == 1 else f"coalesce({', '.join(exprs)})")
        for name, exprs in variants.items()
    }
    missing = [c for c in src.required if c not in variants]
    return ColumnMap(exprs, extra, missing, notes)


def missing_columns_error(missing: list[str]) -> str | None:
    if not missing:
        return None
    return "; ".join(f"missing required column {name}" for name in missing)


def _extra_object(extra: list[tuple[str, str]]) -> str:
    """JSON object text of the non-null unknown values; NULL when there is none."""
    if not extra:
        return "NULL"
    obj = "json_object(" + ", ".join(f"{quote_literal(k)}, {e}" for k, e in extra) + ")"
    # A JSON merge patch drops null members (empty CSV cells, absent JSON keys).
    return f"nullif(json_merge_patch('{{}}', {obj})::varchar, '{{}}')"


def _insert(
    con: duckdb.DuckDBPyConnection,
    source: str,
    values: dict[str, str],
    from_clause: str,
) -> int:
    """INSERT INTO landed.<source> SELECT ``values`` (landed column -> SQL) FROM ...;
    returns the number of rows inserted."""
    cols = landed_columns(source)
    select = ", ".join(f"{values.get(c, 'NULL')} as {ident(c)}" for c in cols)
    sql = (
        f"insert into {landed_rows_table(source)} ({', '.join(ident(c) for c in cols)})\n"
        f"select {select}\n{from_clause}"
    )
    return int(scalar(con, sql) or 0)


def _lineage(file: LandingFile, ingested_at: datetime, line: str) -> dict[str, str]:
    return {
        "_file": quote_literal(file.name),
        "_line": line,
        "_ingested_at": f"cast({quote_literal(ingested_at.isoformat(sep=' '))} as timestamp)",
    }


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in _TEMP_TABLES:
        con.execute(f"drop table if exists temp.{table}")


def _reader_options(file: LandingFile) -> str:
    compression = "gzip" if file.compression == "gzip" else "none"
    return f"compression='{compression}', hive_partitioning=false"


def _store_rejects(suffix: str = "") -> str:
    return (
        f"store_rejects=true, rejects_table='{_REJECTS}{suffix}', "
        f"rejects_scan='{_REJECT_SCANS}{suffix}', rejects_limit=0"
    )


def _drop_rejects(con: duckdb.DuckDBPyConnection, suffix: str = "") -> None:
    con.execute(f"drop table if exists temp.{_REJECTS}{suffix}")
    con.execute(f"drop table if exists temp.{_REJECT_SCANS}{suffix}")


def _collect_bad_lines(con: duckdb.DuckDBPyConnection, label: str) -> int:
    """One row per rejected line (DuckDB may report several errors for one line)."""
    con.execute(
        f"""create or replace temp table {_BAD} as
        select line, {quote_literal(label)} || ': ' || string_agg(
                   lower(cast(error_type as varchar)) || ' (' || {redact_sql('msg')} || ')', '; '
                   order by col
               ) as reason,
               arg_min(raw, col) as raw
        from (
            select line, error_type,
                   min(coalesce(column_idx, 0)) as col,
                   arg_min(error_message, coalesce(column_idx, 0)) as msg,
                   arg_min(trim(csv_line, chr(13) || chr(10)), coalesce(column_idx, 0)) as raw
            from temp.{_REJECTS}
            group by line, error_type
        )
        group by line"""
    )
    return _count(con, _BAD)


def _gap_fill(con: duckdb.DuckDBPyConnection, first_line: int) -> None:
    """``_ingest_gaps(before, j)``: after the ``before``-th returned row come ``j`` rejected
    lines in all (so returned row ``k`` is line ``k + first_line - 1 + j`` of the last gap
    with ``before < k``)."""
    con.execute(
        f"""create or replace temp table {_GAPS} as
        select line - {first_line} - (j - 1) as before, max(j) as j
        from (select line, row_number() over (order by line) as j from {_BAD})
        group by 1"""
    )


def _numbered_rows(has_bad: bool, first_line: int, rows: str = _ROWS) -> tuple[str, str]:
    """(FROM clause over the returned rows as ``r``, SQL of their line number) by gap
    filling."""
    if not has_bad:
        return f"from {rows} r", f"r.ordinality + {first_line - 1}"
    return (
        f"from {rows} r asof left join {_GAPS} g on r.ordinality > g.before",
        f"r.ordinality + {first_line - 1} + coalesce(g.j, 0)",
    )


def _insert_bad_lines(con: duckdb.DuckDBPyConnection, source: str, file: LandingFile,
                      ingested_at: datetime, physical: bool = False) -> int:
    """Land the rejected lines; ``physical``: map DuckDB's record numbers to physical
    lines through ``_ingest_recmap``."""
    values = {
        **_lineage(file, ingested_at, "coalesce(m.phys, b.line)" if physical else "b.line"),
        "_read_error": "b.reason",
        "_raw_line": "b.raw",
    }
    join = f" left join {_RECMAP} m on m.rec = b.line" if physical else ""
    return _insert(con, source, values, f"from {_BAD} b{join} order by b.line")


def _read_csv_header(file: LandingFile) -> list[str] | None:
    """The header record (Python's csv module on the first record only), or None when the
    file has no text at all."""
    opener = gzip.open if file.compression == "gzip" else open
    with opener(file.path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration:
            return None


def load_csv(con: duckdb.DuckDBPyConnection, source: str, file: LandingFile,
             fp: Fingerprint, ingested_at: datetime) -> FileLoad:
    out = FileLoad()
    header = _read_csv_header(file)
    if header is None:
        out.messages.append(f"{file.name}: empty file")
        return out
    if not any(name.strip() for name in header):
        raise EmptyHeaderError("line 1 (the header) is empty; expected the column names")
    n = len(header)
    struct = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    path = quote_literal(str(file.path))
    _drop_rejects(con)
    con.execute(
        f"""create or replace temp table {_ROWS} as
        select * from read_csv({path}, columns={struct}, header=true, auto_detect=false,
            delim=',', quote='"', escape='"', strict_mode=true, null_padding=false,
            encoding='utf-8', {_store_rejects()}, {_reader_options(file)})
        with ordinality"""
    )
    good = _count(con, _ROWS)
    bad = _collect_bad_lines(con, "malformed CSV line")
    if bad:
        _gap_fill(con, first_line=2)
    from_clause, line = _numbered_rows(bool(bad), first_line=2)
    physical = False
    if (good or bad) and fp.lines != 1 + good + bad:
        # Blank lines or values spanning lines: number the rows by a second pass.
        physical = _physical_lines(con, file, n, good)
        if physical:
            from_clause = f"from {_ROWS} r join {_RECMAP} m on m.k = r.ordinality"
            line = "m.phys"
        else:
            out.messages.append(
                f"{file.name}: could not number lines exactly (blank lines or values "
                "spanning lines); line numbers after such lines may be off"
            )
    found = [FoundColumn(name, f"r.c{i}", f"r.c{i}") for i, name in enumerate(header)]
    cmap = map_columns(source, found)
    out.messages += _column_messages(file, cmap, good)
    error = missing_columns_error(cmap.missing_required)
    values = {
        **cmap.exprs,
        **_lineage(file, ingested_at, line),
        "_extra": _extra_object(cmap.extra),
        "_read_error": quote_literal(error) if error else "NULL",
    }
    out.rows = _insert(con, source, values, f"{from_clause} order by r.ordinality")
    if bad:
        out.rows += _insert_bad_lines(con, source, file, ingested_at, physical)
    return out


def _physical_lines(con: duckdb.DuckDBPyConnection, file: LandingFile, n_columns: int,
                    good: int) -> bool:
    """Build ``_ingest_recmap(rec, phys, k)``: for every CSV record (DuckDB's record
    number ``rec``, the header being 1, blank lines counted) the physical line it starts
    on, and for the records that are returned rows their rank ``k`` among them.

    Reads the file once more as physical lines (latin-1, so that no byte sequence is
    rejected). A line starts a record when the double quotes before it are balanced (an
    even count: RFC 4180 quoting, where an escaped quote is doubled). Returned rows are
    the records that are neither the header, nor a rejected line, nor blank (DuckDB skips
    blank lines in a file of more than one column). False when the count disagrees with
    the rows DuckDB returned (e.g. a stray quote inside an unquoted value).
    """
    path = quote_literal(str(file.path))
    _drop_rejects(con, "_b")
    con.execute(
        f"""create or replace temp table {_RECORDS} as
        select ordinality, t from read_csv({path}, columns={{'t': 'VARCHAR'}}, header=false,
            auto_detect=false, delim=chr(1), quote='', escape='', strict_mode=false,
            new_line='\\r\\n', encoding='latin-1', {_store_rejects('_b')},
            {_reader_options(file)})
        with ordinality"""
    )
    # Lines this pass rejects (over-long lines) are gaps in its numbering: gap filling again.
    blank = "false" if n_columns == 1 else "coalesce(t, '') = ''"
    con.execute(
        f"""create or replace temp table {_RECMAP} as
        with brej as (select distinct line from temp.{_REJECTS}_b),
        gaps as (
            select line - 1 - (j - 1) as before, max(j) as j
            from (select line, row_number() over (order by line) as j from brej)
            group by 1
        ),
        lines as (
            select rr.ordinality + coalesce(g.j, 0) as phys, rr.t,
                   coalesce(length(rr.t) - length(replace(rr.t, '"', '')), 0) as quotes
            from {_RECORDS} rr asof left join gaps g on rr.ordinality > g.before
        ),
        starts as (
            select phys, t, coalesce(sum(quotes) over (
                       order by phys rows between unbounded preceding and 1 preceding), 0) % 2 = 0
                   as starts_record
            from lines
        ),
        records as (
            select phys, t, row_number() over (order by phys) as rec
            from starts where starts_record
        ),
        placed as (
            select rec, phys,
                   rec > 1 and rec not in (select line from {_BAD}) and not ({blank}) as returned
            from records
        )
        select rec, phys,
               case when returned then row_number() over (partition by returned order by rec) end
                   as k
        from placed"""
    )
    returned = int(scalar(con, f"select count(k) from {_RECMAP}") or 0)
    _drop_rejects(con, "_b")
    return returned == good


def _json_lines_sql(files: list[LandingFile]) -> str:
    """Build temp table ``_ingest_rows(line, [filename,] ordinality, jtype)``: every line of
    the files as text (one compression: the first file's), numbered in reading order, with
    its JSON type (NULL when it is not valid JSON); rejected lines go to the rejects table.
    Several files add ``filename``."""
    several = len(files) > 1
    listed = "[" + ", ".join(quote_literal(str(f.path)) for f in files) + "]"
    return f"""create or replace temp table {_ROWS} as
        select line, {"filename, " if several else ""}ordinality,
               try(json_type(line)) as jtype
        from read_csv({listed}, columns={{'line': 'VARCHAR'}}, header=false,
            auto_detect=false, delim=chr(1), quote='', escape='', strict_mode=false,
            new_line='\\r\\n', encoding='utf-8', filename={str(several).lower()},
            {_store_rejects()}, {_reader_options(files[0])})
        with ordinality"""


@dataclass
class _JsonPlan:
    """How JSON lines with these keys land: the column map, the SQL of every landed column
    but the lineage (over ``r``), and ``rows``, the relation ``r`` is (``_ingest_rows`` with
    ``vals``: every contract key extracted with one parse of the line)."""

    cmap: ColumnMap
    values: dict[str, str]
    rows: str
    unknown: int  # unknown keys
    whole_objects: bool  # too many unknown keys: _extra keeps each whole object

    def messages(self, file: LandingFile, objects: int) -> list[str]:
        out = [f"{file.name}: {self.unknown} unknown keys; _extra keeps each whole JSON object"
               ] if self.whole_objects else []
        return out + _column_messages(file, self.cmap, objects)


def _json_plan(source: str, keys: Sequence[str]) -> _JsonPlan:
    contract_norm = {c.lower() for c in SOURCES[source].column_names}
    known = [k for k in keys if k.strip().lower() in contract_norm]
    unknown = [k for k in keys if k.strip().lower() not in contract_norm]
    found = [FoundColumn(k, f"r.vals[{i + 1}]", "NULL") for i, k in enumerate(known)]
    cmap = map_columns(source, found, coalesce_variants=True)
    whole = len(unknown) > _MAX_EXTRA_KEYS
    if whole:
        extra = "r.line"
    else:
        cmap.extra = [(k, f"json_extract(r.line, {quote_literal(_pointer(k))})") for k in unknown]
        extra = _extra_object(cmap.extra)
    missing = missing_columns_error(cmap.missing_required)
    paths = ", ".join(quote_literal(_pointer(k)) for k in known)
    vals = f"json_extract_string(line, [{paths}])" if known else "NULL"
    values = {
        **cmap.exprs,
        "_extra": f"case when r.jtype = 'OBJECT' then {extra} end",
        "_read_error": (
            "case when r.jtype is null then 'invalid JSON line' "
            "when r.jtype <> 'OBJECT' then 'JSON line is not an object: ' || lower(r.jtype) "
            f"else {quote_literal(missing) if missing else 'NULL'} end"
        ),
        "_raw_line": "case when r.jtype is distinct from 'OBJECT' then r.line end",
    }
    rows = f"(select *, case when jtype = 'OBJECT' then {vals} end as vals from {_ROWS})"
    return _JsonPlan(cmap, values, rows, len(unknown), whole)


def load_jsonl(con: duckdb.DuckDBPyConnection, source: str, file: LandingFile,
               fp: Fingerprint, ingested_at: datetime) -> FileLoad:
    out = FileLoad()
    _drop_rejects(con)
    con.execute(_json_lines_sql([file]))
    returned = _count(con, _ROWS)
    bad = _collect_bad_lines(con, "malformed line")
    if fp.lines is not None and returned + bad != fp.lines:
        out.messages.append(f"{file.name}: unusual line endings; line numbers may be off")
    if bad:
        _gap_fill(con, first_line=1)

    keys = [
        r[0]
        for r in con.execute(
            f"select distinct k from (select unnest(json_keys(line)) as k from {_ROWS} "
            "where jtype = 'OBJECT') order by k"
        ).fetchall()
    ]
    plan = _json_plan(source, keys)
    objects = int(scalar(con, f"select count(*) from {_ROWS} where jtype = 'OBJECT'") or 0)
    out.messages += plan.messages(file, objects)
    from_clause, line = _numbered_rows(bool(bad), first_line=1, rows=plan.rows)
    values = {**plan.values, **_lineage(file, ingested_at, line)}
    out.rows = _insert(con, source, values,
                       f"{from_clause} where not ({_blank_line('r.line', 'r.jtype')}) order by r.ordinality")
    if bad:
        out.rows += _insert_bad_lines(con, source, file, ingested_at)
    return out


def _blank_line(line: str, jtype: str) -> str:
    """SQL: the JSON line is blank (spaces, tabs, a CR): skipped, but counted as a line.
    A blank line is never valid JSON, so only the lines without a JSON type are trimmed (a
    CASE: DuckDB evaluates both sides of an AND on every row)."""
    return (f"(case when {jtype} is not null then false "
            f"else nullif(trim({line}, ' ' || chr(9) || chr(13)), '') is null end)")


def _pointer(key: str) -> str:
    """JSON pointer of a top-level key (RFC 6901 escaping)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


_NESTED_PREFIXES = ("STRUCT", "MAP", "UNION")


def _parquet_text(name: str, sql_type: str) -> tuple[str, str]:
    col = f"p.{ident(name)}"
    upper = sql_type.upper()
    if upper.startswith(_NESTED_PREFIXES) or upper.endswith("]"):
        return f"cast(to_json({col}) as varchar)", f"to_json({col})"
    return f"cast({col} as varchar)", f"to_json({col})"


def _parquet_schema(con: duckdb.DuckDBPyConnection, file: LandingFile) -> list[tuple[str, str]]:
    path = quote_literal(str(file.path))
    return [(str(r[0]), str(r[1])) for r in con.execute(
        f"describe select * from read_parquet({path}, hive_partitioning=false)").fetchall()]

def _parquet_found(schema: list[tuple[str, str]]) -> list[FoundColumn]:
    """The file's columns, each with its value as text and as JSON."""
    return [FoundColumn(name, *_parquet_text(name, sql_type)) for name, sql_type in schema]


def load_parquet(con: duckdb.DuckDBPyConnection, source: str, file: LandingFile,
                 fp: Fingerprint, ingested_at: datetime) -> FileLoad:
    """Keep the file (``kept``) when it can be; otherwise land its rows as text."""
    out = FileLoad()
    path = quote_literal(str(file.path))
    scan = f"read_parquet({path}, hive_partitioning=false"
    schema = _parquet_schema(con, file)
    names = {name.lower() for name, _ in schema}
    cmap = map_columns(source, _parquet_found(schema))
    if keepable(schema, cmap):
        (out.rows,) = kept.keep(con, source, [file], schema, ingested_at)
        out.messages += _column_messages(file, cmap, out.rows)
        return out
    # Row numbers: the reader's file_row_number, unless the file has a column of that name.
    if "file_row_number" not in names:
        from_clause, line = f"from {scan}, file_row_number=true) p", "p.file_row_number + 1"
    elif "ordinality" not in names:
        from_clause, line = f"from {scan}) with ordinality p", "p.ordinality"
    else:
        raise UnnumberableFileError(
            "the file has columns named file_row_number and ordinality; cannot number its rows"
        )
    error = missing_columns_error(cmap.missing_required)
    values = {
        **cmap.exprs,
        **_lineage(file, ingested_at, line),
        "_extra": _extra_object(cmap.extra),
        "_read_error": quote_literal(error) if error else "NULL",
    }
    with kept.pages_decoded():
        out.rows = _insert(con, source, values, from_clause)
    out.messages += _column_messages(file, cmap, out.rows)
    return out


def keepable(schema: list[tuple[str, str]], cmap: ColumnMap) -> bool:
    """Can a Parquet file of this schema be kept as it is (``kept``)? Its rows must be
    numbered by the reader's file_row_number and named by its filename (no column of
    either name) and every row must be readable (no required column missing)."""
    names = {name.lower() for name, _ in schema}
    return not ({"file_row_number", "filename"} & names) and not cmap.missing_required


def _native_found(source: str, schema: list[tuple[str, str]]) -> dict[str, str]:
    """Contract column -> the file's column that lands as it (the first of its name, as in
    :func:`map_columns`), for those the file holds as their typed values
    (``contract.reads_natively``)."""
    first: dict[str, tuple[str, str]] = {}
    for name, sql_type in schema:
        first.setdefault(name.strip().lower(), (name, sql_type))
    return {c.name: first[c.name.lower()][0] for c in SOURCES[source].columns
            if c.name.lower() in first and reads_natively(c, first[c.name.lower()][1])}


def native_columns(source: str, schema: list[tuple[str, str]]) -> frozenset[str]:
    """The contract columns that a kept file of this schema holds as their typed values."""
    return frozenset(_native_found(source, schema))


def kept_select(source: str, schema: list[tuple[str, str]], native: bool = False
                ) -> dict[str, str]:
    """SQL of each landed column for a kept file of this schema, over its read ``p``
    (with file_row_number) and its ``landed.parquet_files`` row ``r``: the same values
    :func:`load_parquet` would land as text; with ``native``, the :func:`native_columns`
    as the file holds them (for ``contract.typed_select_sql``)."""
    cmap = map_columns(source, _parquet_found(schema))
    values = {c: cmap.exprs.get(c, NULL_TEXT) for c in SOURCES[source].column_names}
    if native:
        for c, found in _native_found(source, schema).items():
            values[c] = f"p.{ident(found)}"
    extra = _extra_object(cmap.extra)
    values.update({
        "_file": "r.file",
        "_line": "p.file_row_number + 1",
        "_ingested_at": "r.ingested_at",
        "_extra": NULL_TEXT if extra == "NULL" else extra,
        "_read_error": NULL_TEXT,
        "_raw_line": NULL_TEXT,
    })
    return values


def _file_name_sql(files: list[LandingFile], column: str) -> str:
    """SQL of ``_file`` (the path under the landing folder) from a multi-file read's
    ``filename`` column: where every path is that folder's text plus the name, a substring
    (a CASE over hundreds of files costs more per row)."""
    prefix = str(files[0].path).removesuffix(files[0].name)
    if all(str(f.path) == prefix + f.name for f in files):
        return f"substr({column}, {len(prefix) + 1})"
    return f"case {column} " + " ".join(
        f"when {quote_literal(str(f.path))} then {quote_literal(f.name)}" for f in files
    ) + " end"


def parquet_batches(con: duckdb.DuckDBPyConnection, files: list[LandingFile]
                    ) -> list[list[LandingFile]]:
    """Consecutive non-empty Parquet files with one schema, in order (a file that does not
    fit starts the next batch), to be landed by one statement each
    (:func:`load_parquet_batch`). A file whose schema cannot be read is a batch of its own:
    the one-file path reports it."""
    batches: list[list[LandingFile]] = []
    schema_of_last: list[tuple[str, str]] | None = None
    for f in files:
        try:
            schema = _parquet_schema(con, f) if f.size else None
        except duckdb.Error:
            schema = None
        if schema and batches and schema == schema_of_last:
            batches[-1].append(f)
        else:
            batches.append([f])
        schema_of_last = schema
    return batches


def load_parquet_batch(con: duckdb.DuckDBPyConnection, source: str, files: list[LandingFile],
                       ingested_at: datetime) -> list[FileLoad]:
    """Keep several Parquet files of one schema (:func:`parquet_batches`) together
    (``kept``: one statement decodes them all, in parallel; inside the caller's
    transaction). The rows are exactly those :func:`load_parquet` lands file by file.
    Raises on any file that cannot be read or kept; the caller then lands the files one
    by one, which names the file at fault."""
    schema = _parquet_schema(con, files[0])
    cmap = map_columns(source, _parquet_found(schema))
    if not keepable(schema, cmap):
        raise UnnumberableFileError("cannot be kept as a batch: landed file by file")
    rows = kept.keep(con, source, files, schema, ingested_at)
    return [FileLoad(n, _column_messages(f, cmap, n)) for f, n in zip(files, rows, strict=True)]


def jsonl_batches(files: list[LandingFile]) -> list[list[LandingFile]]:
    """Consecutive non-empty JSON-lines files of one compression, in order, to be landed
    by one statement each (:func:`load_jsonl_batch`); an empty file is a batch of its own."""
    batches: list[list[LandingFile]] = []
    for f in files:
        last = batches[-1][-1] if batches else None
        if f.size and last is not None and last.size and last.compression == f.compression:
            batches[-1].append(f)
        else:
            batches.append([f])
    return batches


def load_jsonl_batch(con: duckdb.DuckDBPyConnection, source: str, files: list[LandingFile],
                     prints: dict[str, Fingerprint], ingested_at: datetime) -> list[FileLoad]:
    """Add the rows of several JSON-lines files to ``landed.<source>`` with one read and one
    Parquet file of their text rows (``kept.keep_rows``; inside the caller's transaction),
    where :func:`load_jsonl` makes ~8 statements per file and inserts into the rows table:
    the rows and line numbers are exactly those it lands file by file (their ids differ).
    Raises :class:`UnnumberableFileError` (the caller then lands the files one by one, which
    reports each problem in its file's words) unless every line of every file was read (no
    malformed line), each file's lines came out together and match its physical line count,
    and every file has the same keys (so one :func:`_json_plan` lands them all)."""
    _drop_rejects(con)
    con.execute(_json_lines_sql(files))
    if scalar(con, f"select count(*) from temp.{_REJECTS}"):
        raise UnnumberableFileError("malformed lines: landed file by file")
    blank = _blank_line("line", "jtype")
    con.execute(
        f"""create or replace temp table {_FIRSTS} as
        select filename, min(ordinality) - 1 as before, count(*) as n,
               max(ordinality) - min(ordinality) + 1 as span,
               count(*) filter (where jtype = 'OBJECT') as objects,
               count(*) filter (where not ({blank})) as landed
        from {_ROWS} group by filename"""
    )
    per_file = {
        str(name): (int(n), int(span), int(objects), int(landed), int(before))
        for name, n, span, objects, landed, before in con.execute(
            f"select filename, n, span, objects, landed, before from {_FIRSTS}").fetchall()
    }
    keys_of = {
        str(name): tuple(keys)
        for name, keys in con.execute(
            f"select filename, list(distinct k order by k) from (select filename, "
            f"unnest(json_keys(line)) as k from {_ROWS} where jtype = 'OBJECT') "
            "group by filename").fetchall()
    }
    for f in files:
        got = per_file.get(str(f.path))
        lines = prints[f.name].lines
        if got is None or got[0] != got[1] or lines is None or got[0] != lines:
            raise UnnumberableFileError(f"{f.name}: lines not numbered in one read")
    key_sets = {keys_of.get(str(f.path), ()) for f in files}
    if len(key_sets) != 1:
        raise UnnumberableFileError("files with different keys: landed file by file")
    plan = _json_plan(source, next(iter(key_sets)))
    first = kept.next_rid(con, source)
    values = {**plan.values, "_file": _file_name_sql(files, "r.filename"),
              "_line": "r.ordinality - f.before", "_rid": f"-({first} + r.ordinality)"}
    columns = [c for c in landed_columns(source) if c != "_ingested_at"]
    listed = ", ".join(f"{values.get(c, NULL_TEXT)} as {ident(c)}" for c in [*columns, "_rid"])
    select = (f"select {listed}\n"
              f"from {plan.rows} r join {_FIRSTS} f using (filename) "
              f"where not ({_blank_line('r.line', 'r.jtype')})")
    loads = []
    for f in files:
        _, _, objects, landed, _ = per_file[str(f.path)]
        loads.append(FileLoad(landed, plan.messages(f, objects)))
    written = kept.keep_rows(
        con, source, select, columns, first,
        [(f.name, per_file[str(f.path)][4], per_file[str(f.path)][0]) for f in files],
        ingested_at)
    if sum(load.rows for load in loads) != written:
        raise UnnumberableFileError("row counts of the batch do not match its files")
    drop_temp_tables(con)
    return loads


def load_file(con: duckdb.DuckDBPyConnection, source: str, file: LandingFile,
              fp: Fingerprint, ingested_at: datetime) -> FileLoad:
    """Append the rows of one file to ``landed.<source>`` (inside the caller's
    transaction). Raises on a file that cannot be read at all."""
    if file.size == 0:
        return FileLoad(0, [f"{file.name}: empty file"])
    loader = {"csv": load_csv, "jsonl": load_jsonl, "parquet": load_parquet}[file.format]
    if file.format == "csv" and fp.mixed_line_ends:
        # DuckDB's strict CSV reader fails on a file mixing CRLF and LF: read an LF copy.
        with tempfile.TemporaryDirectory(prefix="product-metrics-ingest-") as tmp:
            copy = write_with_lf_line_ends(file, Path(tmp) / "lf.csv")
            lf_file = dataclasses.replace(file, path=copy, compression=None)
            load = loader(con, source, lf_file, fp, ingested_at)
        load.messages.append(f"{file.name}: mixed CRLF and LF line ends; read with LF only")
    else:
        load = loader(con, source, file, fp, ingested_at)
    # On an error the caller rolls back, which drops the temp tables made in the transaction.
    drop_temp_tables(con)
    return load


class EmptyHeaderError(ValueError):
    """A CSV file whose first line is empty."""


class UnnumberableFileError(ValueError):
    """A file whose rows cannot be numbered."""


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(scalar(con, f"select count(*) from {table}") or 0)


def _column_messages(file: LandingFile, cmap: ColumnMap, rows: int) -> list[str]:
    messages = [f"{file.name}: {note}" for note in cmap.notes]
    if cmap.missing_required and rows:
        cols = ", ".join(cmap.missing_required)
        messages.append(
            f"{file.name}: missing required column {cols}: all {rows} rows of the file quarantined"
        )
    if cmap.extra:
        names = ", ".join(k for k, _ in cmap.extra[:10])
        more = f" and {len(cmap.extra) - 10} more" if len(cmap.extra) > 10 else ""
        messages.append(f"{file.name}: unknown column(s) kept in _extra: {names}{more}")
    return messages
