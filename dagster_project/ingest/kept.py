"""Parquet landing files kept as they are, read as text through the ``landed`` view.

A Parquet file's values are typed, and the text a landed row holds for one is DuckDB's cast
of that value (``readers``): the file itself holds everything its landed rows would. Writing
those rows again as text into the warehouse cost about as much as reading the file (10
million events: ~5 s of ~13 s of their ingestion), and the typed rows of ``raw`` are then
written once more. So a Parquet file that can be read, whose rows can be numbered (it has no
column named ``file_row_number`` or ``filename``) and that has every required column is
copied byte for byte into the warehouse's folder of kept files, ``<warehouse>.landed/
<source>/`` (a copy, not a link: a landing file changed in place must not change what
landed), and registered in ``landed.parquet_files``. ``landed.<source>`` is a view: the
text rows of every other file (``landed.<source>_rows``) and the kept files read as text,
with exactly the columns, line numbers (``file_row_number + 1``), ``_extra`` and lineage a
text copy of their rows would have had, and ``_rid``, each row's id (the rows table's
rowid; negative for a kept file's rows).

JSON-lines files landed together (``readers.load_jsonl_batch``) have no typed file to keep,
but their text rows are written the same way (:func:`keep_rows`): once, as one Parquet file
of exactly the text rows, with their line numbers, ``_extra``, ``_read_error`` and ids, in
the same folder, registered per landing file (``columns`` names the columns written, so a
file written before the contract gained a column reads it as NULL). A landing file changed
in place loses its registry row, so its earlier rows are left out of the view though they
stay in the shared file, which the sweep deletes once none of its landing files is left.

Before a file is kept every column of the copy is decoded once (~0.25 s for 10 million
events), so a file whose pages are corrupt is still found when it lands (and logged as
unreadable), not when it is derived. A copy whose registration was rolled back, or whose
file was replaced, is deleted by the next ingestion of the source (:func:`sweep`). The folder
belongs to the warehouse: move, copy or back up both together. An in-memory warehouse (the
tests) keeps its files in a temporary folder of its own, named in
``landed.kept_location``.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.contract import quote_literal
from dagster_project.errors import MetricsError
from dagster_project.ingest.files import LandingFile
from dagster_project.ingest.schema import (
    landed_columns,
    landed_rows_table,
    landed_table,
    scalar,
)

REGISTRY = "landed.parquet_files"
SUFFIX = ".landed"  # the folder of kept files: <warehouse file name> + SUFFIX


class CorruptParquetError(ValueError):
    """A Parquet file whose footer reads but whose pages do not decode."""


class KeptFilesMissingError(MetricsError):
    """Kept Parquet files of the warehouse are gone from its folder of kept files."""


def kept_dir(con: duckdb.DuckDBPyConnection) -> Path:
    """The warehouse's folder of kept files: ``<database file>.landed``; for an in-memory
    database a temporary folder made once and named in ``landed.kept_location``."""
    path = scalar(con, "select path from duckdb_databases() where database_name = current_database()")
    if path and str(path) != ":memory:":
        return Path(str(path) + SUFFIX)
    con.execute("create table if not exists landed.kept_location (path varchar)")
    made = scalar(con, "select path from landed.kept_location")
    if made is None:
        made = tempfile.mkdtemp(prefix="product-metrics-landed-")
        # The database ends with the process at the latest: so do its kept files.
        atexit.register(shutil.rmtree, made, True)
        con.execute("insert into landed.kept_location values (?)", [made])
    return Path(str(made))


def copy_warehouse(source: Path, target: Path) -> None:
    """Copy a warehouse file (closed) with its folder of kept files, when it has one."""
    shutil.copy(source, target)
    folder = Path(str(source) + SUFFIX)
    if folder.is_dir():
        shutil.copytree(folder, Path(str(target) + SUFFIX), dirs_exist_ok=True)


def schema_key(schema: list[tuple[str, str]]) -> str:
    """A file's schema (name, DuckDB type) as the text ``landed.parquet_files`` keeps."""
    return json.dumps([list(c) for c in schema])


def _validate(con: duckdb.DuckDBPyConnection, paths: list[Path],
              schema: list[tuple[str, str]]) -> None:
    """Decode every column of the files once (raises where DuckDB cannot). Text is measured,
    which decodes every value; other columns are counted, which decompresses their pages."""
    from dagster_project.ingest.readers import ident

    parts = [
        f"max(length({ident(name)}))" if sql_type.upper() in ("VARCHAR", "BLOB")
        else f"count({ident(name)})"
        for name, sql_type in schema
    ]
    listed = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
    with pages_decoded():
        con.execute(f"select count(*), {', '.join(parts) or '0'} "
                    f"from read_parquet({listed}, hive_partitioning=false)").fetchall()


@contextlib.contextmanager
def pages_decoded() -> Iterator[None]:
    """Around a statement that reads every page of Parquet files: a corrupt page gives a
    bare ``duckdb.Error`` ("Out of buffer") naming no file, raised here as
    :class:`CorruptParquetError` (a file error: the file is logged unreadable)."""
    try:
        yield
    except (duckdb.OutOfMemoryException, duckdb.InterruptException):
        raise
    except duckdb.Error as exc:
        if type(exc) is not duckdb.Error:  # a named kind: not a page that does not decode
            raise
        raise CorruptParquetError(f"cannot decode the file's pages: {exc}") from exc


def keep(con: duckdb.DuckDBPyConnection, source: str, files: list[LandingFile],
         schema: list[tuple[str, str]], ingested_at: datetime) -> list[int]:
    """Keep Parquet files of one schema (inside the caller's transaction): copy, decode and
    register them, and refresh the view; returns each file's rows (from its metadata).
    Raises for a file that cannot be read (:class:`CorruptParquetError` for pages that do
    not decode; its copies are removed at once) and :class:`MetricsError` when the folder
    cannot take a copy (a full disk: the run fails, the landing file is not blamed)."""
    folder = kept_dir(con) / source
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    try:
        for f in files:
            copies.append(f"{uuid.uuid4().hex}.parquet")
            shutil.copyfile(f.path, folder / copies[-1])
    except OSError as exc:  # the machine's fault (a full disk), not the file's: fail the run
        _remove(folder, copies)
        raise MetricsError(f"cannot copy {f.name} into the warehouse's folder of kept Parquet "
                           f"files {folder}: {exc.strerror or exc}") from exc
    paths = [folder / c for c in copies]
    try:
        _validate(con, paths, schema)
    except BaseException:
        _remove(folder, copies)
        raise
    listed = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
    counts = {str(name): int(n) for name, n in con.execute(
        f"select file_name, num_rows from parquet_file_metadata({listed})").fetchall()}
    rows = [counts[str(p)] for p in paths]
    first = next_rid(con, source)
    key = schema_key(schema)
    for f, copy, n in zip(files, copies, rows, strict=True):
        con.execute(f"insert into {REGISTRY} values (?, ?, ?, ?, ?, ?, ?)",
                    [source, f.name, copy, ingested_at, first, n, key])
        first += n
    refresh_views(con, [source])
    return rows


def next_rid(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Where the row ids of the next kept file of the source start."""
    return int(scalar(con, f"select coalesce(max(first_rid + rows), 0) from {REGISTRY} "
                           "where source = ?", [source]) or 0)


def rows_key(columns: list[str]) -> str:
    """``landed.parquet_files.columns`` of a file of landed text rows (:func:`keep_rows`):
    a JSON object naming the columns it holds (a kept landing file's is a JSON list)."""
    return json.dumps({ROWS_KIND: columns})


ROWS_KIND = "landed_rows"


def keep_rows(con: duckdb.DuckDBPyConnection, source: str, select: str, columns: list[str],
              first: int, files: list[tuple[str, int, int]], ingested_at: datetime) -> int:
    """Write the landed text rows of several landing files (JSON lines) as one Parquet file
    into the warehouse's folder of kept files and register each landing file (inside the
    caller's transaction); returns the rows written. ``select`` gives ``columns``: the
    landed columns but ``_ingested_at`` (the registry's), and ``_rid``: -(``first`` + the
    row's line in the whole read, counting from 1), ``first`` from :func:`next_rid`;
    ``files``: (name, lines read before its first, its lines), in reading order, so each
    registers the ids of its lines. Written once, compressed, read back by the view:
    DuckDB writes a table's rows first to its log and then again, compressed, at the
    checkpoint, which cost more than the file (69 thousand invoices: ~0.13 s against
    ~0.05 s). Raises :class:`MetricsError` when the folder cannot take the file."""
    folder = kept_dir(con) / source
    copy = f"{uuid.uuid4().hex}.parquet"
    path = folder / copy
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = int(scalar(con, f"copy ({select}) to {quote_literal(str(path))} "
                                  "(format parquet, compression lz4)") or 0)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    except (duckdb.IOException, OSError) as exc:  # the machine's fault (a full disk)
        _remove(folder, [copy])
        raise MetricsError(f"cannot write the landed rows of {source} into the warehouse's "
                           f"folder of kept files {folder}: {_first_line(exc)}") from exc
    except BaseException:
        _remove(folder, [copy])
        raise
    key = rows_key(columns)
    con.executemany(f"insert into {REGISTRY} values (?, ?, ?, ?, ?, ?, ?)",
                    [[source, name, copy, ingested_at, first + before, lines, key]
                     for name, before, lines in files])
    refresh_views(con, [source])
    return written


def _first_line(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def _remove(folder: Path, copies: list[str]) -> None:
    for copy in copies:
        (folder / copy).unlink(missing_ok=True)


def forget(con: duckdb.DuckDBPyConnection, source: str, names: list[str]) -> None:
    """Unregister kept files (their content was replaced; inside the caller's
    transaction); their copies are deleted by the next :func:`sweep`."""
    if not names:
        return
    con.executemany(f"delete from {REGISTRY} where source = ? and file = ?",
                    [[source, n] for n in names])
    refresh_views(con, [source])


def sweep(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Delete the source's copies that no registered file names (a rolled-back landing, a
    replaced file); returns how many."""
    folder = kept_dir(con) / source
    if not folder.is_dir():
        return 0
    known = {str(r[0]) for r in con.execute(
        f"select copy from {REGISTRY} where source = ?", [source]).fetchall()}
    gone = 0
    for path in folder.glob("*.parquet"):
        if path.name not in known:
            with contextlib.suppress(OSError):
                path.unlink()
                gone += 1
    return gone


def view_sql(source: str, kept: list[tuple[str, str]], folder: Path | None) -> str:
    """The SELECT of ``landed.<source>``: the rows table, then one read of the kept files
    of each schema. ``kept``: the source's (copy, columns) in ``first_rid`` order;
    ``folder``: the warehouse's folder of kept files (raises
    :class:`KeptFilesMissingError` when a copy is not in it)."""
    return "\nunion all\n".join(sql for sql, _ in _branches(source, kept, folder))


def typed_branches(con: duckdb.DuckDBPyConnection, source: str
                   ) -> list[tuple[str, frozenset[str]]]:
    """The parts of ``landed.<source>`` (the rows table, then the kept files of each
    schema), each as a SELECT with the names of the contract columns it gives as their
    typed values rather than as text (``readers.native_columns``): what a full derive
    types, without writing and parsing the text of those columns."""
    kept = [(str(copy), str(columns)) for copy, columns in con.execute(
        f"select copy, columns from {REGISTRY} where source = ? order by first_rid",
        [source]).fetchall()]
    return _branches(source, kept, kept_dir(con) if kept else None, native=True)


def _branches(source: str, kept: list[tuple[str, str]], folder: Path | None,
              native: bool = False) -> list[tuple[str, frozenset[str]]]:
    from dagster_project.ingest.readers import NULL_TEXT, kept_select, native_columns

    cols = landed_columns(source)
    quoted = ", ".join(f'"{c}"' for c in cols)
    parts = [(f"select {quoted}, rowid as _rid from {landed_rows_table(source)}", frozenset())]
    if not kept or folder is None:
        return parts
    folder = folder / source
    missing = [c for c, _ in kept if not (folder / c).is_file()]
    if missing:
        raise KeptFilesMissingError(
            f"{len(missing)} kept Parquet file(s) of {source} are missing from {folder} (e.g. "
            f"{missing[0]}): the warehouse's landed rows are incomplete. Restore that folder "
            "with the warehouse file, or build into a new warehouse.")
    groups: dict[str, list[str]] = {}
    rows_files: dict[str, None] = {}  # files of landed text rows, each once, in order
    rows_columns: dict[str, None] = {}
    for copy, key in kept:
        if key.startswith("{"):
            rows_files[str(folder / copy)] = None
            rows_columns.update(dict.fromkeys(json.loads(key)[ROWS_KIND]))
        else:
            groups.setdefault(key, []).append(str(folder / copy))
    prefix = quote_literal(str(folder) + "/")
    owners = (f"(select file, ingested_at, first_rid, {prefix} || copy as _path "
              f"from {REGISTRY} where source = {quote_literal(source)}) r")
    if rows_files:
        # Text rows, as the rows table holds them; a file whose copy was replaced (its
        # registry row gone) is left out, though other files' rows share its copy.
        select = ", ".join(
            "r.ingested_at as \"_ingested_at\"" if c == "_ingested_at"
            else f'p."{c}"' if c in rows_columns else f'{NULL_TEXT} as "{c}"' for c in cols)
        listed = "[" + ", ".join(quote_literal(p) for p in rows_files) + "]"
        sql = (f"select {select}, p._rid\n"
               f"from read_parquet({listed}, hive_partitioning=false, union_by_name=true, "
               f"filename=true) p\njoin {owners} on r._path = p.filename and r.file = p._file")
        parts.append((sql, frozenset()))
    for key, paths in groups.items():
        schema = [(str(n), str(t)) for n, t in json.loads(key)]
        values = kept_select(source, schema, native)
        select = ", ".join(f"{values[c]} as \"{c}\"" for c in cols)
        listed = "[" + ", ".join(quote_literal(p) for p in paths) + "]"
        sql = (f"select {select}, -(r.first_rid + p.file_row_number) - 1 as _rid\n"
               f"from read_parquet({listed}, hive_partitioning=false, file_row_number=true, "
               f"filename=true) p\njoin {owners} on r._path = p.filename")
        parts.append((sql, native_columns(source, schema) if native else frozenset()))
    return parts


def refresh_views(con: duckdb.DuckDBPyConnection, sources: list[str],
                  strict: bool = True) -> None:
    """(Re)create ``landed.<source>`` of each source unless it is already this SQL (its
    comment holds the SQL's hash: a build with nothing new writes nothing), reading the
    catalog and the registry once. Unless ``strict``, a source whose kept files are missing
    keeps its view as it is (its own ingestion then names the files)."""
    kept: dict[str, list[tuple[str, str]]] = {}
    for source, copy, columns in con.execute(
            f"select source, copy, columns from {REGISTRY} order by source, first_rid").fetchall():
        kept.setdefault(str(source), []).append((str(copy), str(columns)))
    folder = kept_dir(con) if kept else None
    comments = dict(con.execute(
        "select view_name, comment from duckdb_views() where database_name = current_database() "
        "and schema_name = 'landed'").fetchall())
    for source in sources:
        try:
            sql = view_sql(source, kept.get(source, []), folder)
        except KeptFilesMissingError:
            if strict:
                raise
            continue
        digest = hashlib.sha256(sql.encode()).hexdigest()[:16]
        if comments.get(source) == digest:
            continue
        con.execute(f"create or replace view {landed_table(source)} as\n{sql}")
        con.execute(f"comment on view {landed_table(source)} is {quote_literal(digest)}")


__all__ = ["REGISTRY", "ROWS_KIND", "CorruptParquetError", "KeptFilesMissingError",
           "copy_warehouse", "forget", "keep", "keep_rows", "kept_dir", "next_rid",
           "refresh_views", "rows_key", "sweep", "typed_branches", "view_sql"]
