"""What each ingestion changed, for the incremental models downstream.

``ops.ingestion_batches`` gets one row per ingestion run that changed a source:
``batch_id`` (one sequence for all sources, so a later batch always has a larger id,
whatever the clock says), ``mode`` (``incremental``: only the rows of the new files and
of the keys they share were re-derived; ``full``: the whole source was re-derived, e.g.
after a file's content changed or the derivation rules did), the files and rows
re-derived.

For the sources in ``TRACKED`` an incremental batch also writes, to
``incremental.changed_<source>``, every re-derived row (accepted or quarantined, old or
new) with its parsed columns: downstream, the event ids and user-days a batch touched are
exactly the ones an incremental model must rebuild, however late the events arrived. A
full batch empties that table: everything after it must be rebuilt in full anyway.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from dagster_project.contract import SOURCES
from dagster_project.ingest.schema import create_table_sql, scalar

# source -> the parsed columns downstream models need to know what a batch touched.
TRACKED: dict[str, tuple[str, ...]] = {
    "product_events": ("event_id", "user_id", "occurred_at"),
}
STATE_SCHEMA = "incremental"  # internal: never published

BATCHES_DDL = create_table_sql("ops.ingestion_batches", (
    ("source", "VARCHAR"),
    ("batch_id", "BIGINT"),
    ("mode", "VARCHAR"),
    ("files", "BIGINT"),
    ("rows", "BIGINT"),
    ("ingested_at", "TIMESTAMP"),
))


def changes_table(source: str) -> str:
    return f"{STATE_SCHEMA}.changed_{source}"


def ensure_change_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(BATCHES_DDL)
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    for source, columns in TRACKED.items():
        src = SOURCES[source]
        cols = ", ".join(f'"{c}" {src.column(c).sql_type}' for c in columns)
        con.execute(f"create table if not exists {changes_table(source)} "
                    f"(batch_id BIGINT, {cols})")


def record_batch(con: duckdb.DuckDBPyConnection, source: str, mode: str, files: int,
                 rows: int, ingested_at: datetime, classified: str | None = None) -> int:
    """Log a batch (inside the caller's transaction) and return its id. For a tracked
    source, ``classified`` names the table of re-derived rows (typed) of an incremental
    batch."""
    batch_id = int(scalar(con, "select coalesce(max(batch_id), 0) + 1 from ops.ingestion_batches"))
    con.execute("insert into ops.ingestion_batches values (?, ?, ?, ?, ?, ?)",
                [source, batch_id, mode, files, rows, ingested_at])
    if source in TRACKED:
        table = changes_table(source)
        if mode == "full":
            con.execute(f"delete from {table}")
        elif classified is not None:
            cols = ", ".join(f'"{c}"' for c in TRACKED[source])
            key = TRACKED[source][0]
            con.execute(f"insert into {table} select {batch_id}, {cols} from {classified} "
                        f'where "{key}" is not null')
    return batch_id
