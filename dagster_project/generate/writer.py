"""Writing landing files with DuckDB ``COPY``.

Rows are already in landing order in the numpy arrays; DuckDB keeps insertion order
(``preserve_insertion_order``, its default), so the bytes of every file depend only on
the arrays, not on threads or timing. Gzip output carries no timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER",
    "csv.gz": "FORMAT csv, HEADER, COMPRESSION gzip",
    "jsonl": "FORMAT json",
    "ndjson": "FORMAT json",
    "jsonl.gz": "FORMAT json, COMPRESSION gzip",
    "parquet": "FORMAT parquet, COMPRESSION snappy",
}


def connect(threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"set threads = {threads}")
    con.execute("set preserve_insertion_order = true")
    con.execute("set TimeZone = 'UTC'")
    return con


def write_rows(con: duckdb.DuckDBPyConnection, path: Path, arrays: Mapping[str, np.ndarray | pd.Categorical],
               select: str, fmt: str) -> int:
    """Write ``SELECT select FROM arrays`` to ``path``; returns the row count."""
    return write_parts(con, {path: None}, arrays, None, select, fmt)[path]


def write_parts(con: duckdb.DuckDBPyConnection, paths: dict[Path, int | None],
                arrays: Mapping[str, np.ndarray | pd.Categorical], part: np.ndarray | None, select: str,
                fmt: str) -> dict[Path, int]:
    """Write the rows whose ``part`` equals ``paths[path]`` to each path (every row when
    ``part`` is None); returns rows per path.

    The arrays are first copied into a DuckDB temp table: DuckDB scans numpy arrays on
    one thread, but its own tables in parallel (twice as fast on two cores); one table
    per source also saves the per-statement cost of binding the SELECT for every file.
    """
    cols = dict(arrays)
    n_rows = len(next(iter(arrays.values())))
    if part is not None:
        cols["_part"] = part
    # Categorical columns (pandas) become DuckDB ENUMs; plain numpy columns scan as is.
    con.register("_gen_rows", pd.DataFrame(cols, copy=False) if any(
        not isinstance(v, np.ndarray) for v in cols.values()) else cols)
    try:
        if part is None:  # one file: format while writing (in parallel)
            con.execute("create or replace temp table _gen_tbl as select * from _gen_rows")
            query, where = f"SELECT {select} FROM _gen_tbl", ""
        else:  # many files: format once, then each COPY is a cheap filtered scan
            con.execute(f"create or replace temp table _gen_tbl as "
                        f"select {select}, _part from _gen_rows")
            query, where = "SELECT * EXCLUDE (_part) FROM _gen_tbl", " WHERE _part = "
    finally:
        con.unregister("_gen_rows")
    counts: dict[Path, int] = {}
    try:
        for path, key in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            target = str(path).replace("'", "''")
            con.execute(
                f"COPY ({query}{where}{'' if key is None else int(key)}) TO '{target}' "
                f"({COPY_OPTIONS[fmt]})"
            )
            counts[path] = n_rows if key is None else int(np.count_nonzero(part == key))
    finally:
        con.execute("drop table if exists _gen_tbl")
    return counts
