"""Tables the ingestion writes, and the DDL that creates them when missing.

``landed.<source>`` (a view, all text, one row per landed row): the rows of
``landed.<source>_rows`` (every file landed as text rows) and the rows of the Parquet files
the ingestion keeps as they are (``kept``), with these columns and ``_rid`` (the row's id):
    the contract columns (VARCHAR, in contract order), then
    ``_file`` VARCHAR       path relative to the landing dir, forward slashes
    ``_line`` BIGINT        CSV: line of the row, the header being line 1; JSONL: physical
                            line; Parquet: row number (1-based); NULL for the one row that
                            stands for a file that could not be read at all
    ``_ingested_at`` TIMESTAMP  when the file was ingested (UTC)
    ``_extra`` VARCHAR      JSON object of the non-null values of the columns/keys the
                            contract does not know (NULL when none); ignored downstream
    ``_read_error`` VARCHAR why the reader could not give this row's columns (malformed CSV
                            line, invalid JSON, invalid UTF-8, a required column missing from
                            the whole file, an unreadable file); NULL when it read fine
    ``_raw_line`` VARCHAR   the raw text of a line that could not be split into columns
    ``_rid`` BIGINT         (the view only) the row's id while it is derived: the rows
                            table's rowid, negative for a kept Parquet file's row

``raw.<source>``: exactly ``contract.create_typed_table_sql`` (contract columns typed,
then ``_file, _line, _ingested_at``); rebuilt from ``landed.<source>``.

``ops.ingestion_log`` and ``ops.quarantine``: the columns of the landing contract's
ops tables (docs/LANDING.md), the log extended by ``file_bytes``, ``status`` and ``error``
(no constraints: DuckDB checks unique indexes eagerly inside a transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from dagster_project.contract import SOURCES, create_typed_table_sql

TECH_COLUMNS = (
    ("_file", "VARCHAR"),
    ("_line", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
    ("_extra", "VARCHAR"),
    ("_read_error", "VARCHAR"),
    ("_raw_line", "VARCHAR"),
)


def create_table_sql(table: str, columns: Iterable[tuple[str, str]]) -> str:
    """DDL creating ``table`` with these (name, SQL type) columns, unless it exists."""
    listed = ",\n  ".join(f"{name} {sql_type}" for name, sql_type in columns)
    return f"create table if not exists {table} (\n  {listed}\n)"


# Columns added to ops.ingestion_log after its first release (older warehouses get them).
INGESTION_LOG_ADDED = (("file_bytes", "BIGINT"), ("status", "VARCHAR"), ("error", "VARCHAR"))
INGESTION_LOG_DDL = create_table_sql("ops.ingestion_log", (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("content_hash", "VARCHAR"),
    ("landed_rows", "BIGINT"),
    ("accepted_rows", "BIGINT"),
    ("quarantined_rows", "BIGINT"),
    ("ingested_at", "TIMESTAMP"),
    *INGESTION_LOG_ADDED,
))
# ops.ingestion_log.status: a file read into rows, or one that could not be read at all
# (it has no rows: landed = accepted = quarantined = 0, and ``error`` says why).
INGESTED, UNREADABLE = "ingested", "unreadable"

# Landing files are meant to be immutable. When one changes in place, its earlier version's
# log row moves here (event 'replaced', with when it was replaced); a file skipped because
# its bytes were already ingested under another path is recorded here once ('skipped_copy',
# same_as naming that path). With ops.ingestion_log it tells an auditor why a past month's
# revenue changed.
FILE_HISTORY_DDL = create_table_sql("ops.file_history", (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("content_hash", "VARCHAR"),
    ("event", "VARCHAR"),
    ("same_as", "VARCHAR"),
    ("landed_rows", "BIGINT"),
    ("accepted_rows", "BIGINT"),
    ("quarantined_rows", "BIGINT"),
    ("ingested_at", "TIMESTAMP"),
    ("recorded_at", "TIMESTAMP"),
))

# The landing files kept in a file (``kept``): one row per landing file, ``copy`` the name
# of that file in the warehouse's folder of kept files, ``columns`` its schema (JSON
# [[name, type]...]; for JSON-lines text rows kept in one file for several landing files,
# {"landed_rows": [columns]}), ``first_rid`` where its rows' ids start (the view's _rid) and
# ``rows`` how many ids it holds from there (its rows; for JSON-lines text rows, its lines).
KEPT_FILES_DDL = create_table_sql("landed.parquet_files", (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("copy", "VARCHAR"),
    ("ingested_at", "TIMESTAMP"),
    ("first_rid", "BIGINT"),
    ("rows", "BIGINT"),
    ("columns", "VARCHAR"),
))

QUARANTINE_DDL = create_table_sql("ops.quarantine", (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("line", "BIGINT"),
    ("reason", "VARCHAR"),
    ("raw_record", "VARCHAR"),
))


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, reading the result to its end: with duckdb 2.0 a result
    left unfinished blocks ``con.sql`` on the caller's connection."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    row = first_row(con, sql, params)
    return row[0] if row else None


def landed_columns(source: str) -> list[str]:
    return [*SOURCES[source].column_names, *(name for name, _ in TECH_COLUMNS)]


def landed_table(source: str) -> str:
    """The view of every landed row of the source (text rows and kept Parquet files)."""
    return f"landed.{source}"


def landed_rows_table(source: str) -> str:
    """The table of the rows landed as text (every file but the kept Parquet files)."""
    return f"landed.{source}_rows"


def raw_table(source: str) -> str:
    return f"raw.{source}"


def set_utc(con: duckdb.DuckDBPyConnection) -> None:
    """Timestamps without an offset are UTC: the typed casts rely on the session zone."""
    con.execute("set TimeZone='UTC'")


def ensure_base(con: duckdb.DuckDBPyConnection) -> None:
    set_utc(con)
    for schema in ("landed", "raw", "ops"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(INGESTION_LOG_DDL)
    for name, sql_type in INGESTION_LOG_ADDED:
        con.execute(f"alter table ops.ingestion_log add column if not exists {name} {sql_type}")
    con.execute(QUARANTINE_DDL)
    con.execute(FILE_HISTORY_DDL)
    con.execute(KEPT_FILES_DDL)


def _catalog(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """(schema, table) -> column names of the landed and raw tables, in one catalog read."""
    out: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name in ('landed', 'raw')"
    ).fetchall():
        out.setdefault((str(schema), str(table)), set()).add(str(column))
    return out


def ensure_source_tables(con: duckdb.DuckDBPyConnection, source: str,
                         catalog: dict[tuple[str, str], set[str]] | None = None,
                         views: bool = True) -> None:
    """Create ``landed.<source>_rows`` (adding contract columns it lacks, so the contract may
    gain optional columns; a warehouse whose ``landed.<source>`` is still that table has it
    renamed), the ``landed.<source>`` view (unless not ``views``: the caller refreshes the
    views of many sources at once) and an empty ``raw.<source>`` when missing.
    ``catalog`` (:func:`_catalog`, read once for many sources) saves reading it again."""
    src = SOURCES[source]
    catalog = _catalog(con) if catalog is None else catalog
    rows = landed_rows_table(source)
    present = catalog.get(("landed", f"{source}_rows"))
    if present is None and ("landed", source) in catalog and table_exists(con, "landed", source):
        # Before the view, landed.<source> was the rows table itself (a rename: no copy).
        con.execute(f'alter table {landed_table(source)} rename to "{source}_rows"')
        present = catalog[("landed", source)]
    if present is None:
        cols = [f'"{c}" VARCHAR' for c in src.column_names]
        cols += [f'"{name}" {sql_type}' for name, sql_type in TECH_COLUMNS]
        con.execute(f"create table if not exists {rows} (\n  " + ",\n  ".join(cols) + "\n)")
        present = {c for c in src.column_names} | {name for name, _ in TECH_COLUMNS}
    for name in src.column_names:
        if name not in present:
            con.execute(f'alter table {rows} add column "{name}" VARCHAR')
    if views:
        from dagster_project.ingest.kept import refresh_views  # kept builds on this module

        refresh_views(con, [source])
    if ("raw", source) not in catalog:
        con.execute(create_typed_table_sql(source, raw_table(source)))


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(scalar(
        con,
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ))


def prepare_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas ``landed``, ``raw``, ``ops``, the ops tables and every source's
    ``landed``/``raw`` table if missing, and set TimeZone=UTC on the connection.

    Idempotent; never drops or rewrites data.
    """
    ensure_base(con)
    catalog = _catalog(con)
    for source in SOURCES:
        ensure_source_tables(con, source, catalog, views=False)
    from dagster_project.ingest.kept import refresh_views  # kept builds on this module

    # Another source's missing kept files do not hold this one up (its ingestion names them).
    refresh_views(con, list(SOURCES), strict=False)
