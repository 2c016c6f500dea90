"""Parquet landing files kept as they are (``ingest.kept``): the landed view gives the rows
a text copy would have held, the copies belong to the warehouse (not to the landing folder),
and a file that cannot be kept is still landed, or logged unreadable, by name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest import check_invariants, ingest_source, kept, prepare_warehouse, readers
from dagster_project.ingest.kept import KeptFilesMissingError

NOW = datetime(2024, 3, 1, 12, 0, 0)
LANDED = ("select * exclude (_rid) from landed.product_events order by _file, _line nulls first")
RAW = "select * from raw.product_events order by _file, _line"
QUARANTINE = "select file, line, reason, raw_record from ops.quarantine order by file, line"
LOG = ("select file, landed_rows, accepted_rows, quarantined_rows, status from ops.ingestion_log "
       "order by file")


def parquet(root: Path, name: str, select: str) -> Path:
    path = root / "product_events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.execute(f"copy ({select}) to '{path}' (format parquet)")
    return path


def events(day: int, n: int, columns: str = "") -> str:
    """n events of day ``day`` with typed columns (the text of each is DuckDB's cast)."""
    return (f"select 'e{day}_' || i as EVENT_ID, 'signed_up' as event_name, "
            f"timestamp '2024-01-0{day} 10:00:00' + to_seconds(i * 1.5) as occurred_at, "
            f"case when i % 2 = 0 then 'u' || i end as user_id, "
            f"case when i % 2 = 1 then '  a' || i || ' ' end as anonymous_id, "
            f"'{{\"plan\": \"pro\"}}' as properties{columns} from range({n}) t(i)")


def copies(con: duckdb.DuckDBPyConnection) -> list[str]:
    folder = kept.kept_dir(con) / "product_events"
    return sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []


def registered(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select file, rows, first_rid from landed.parquet_files "
                       "where source = 'product_events' order by first_rid").fetchall()


def test_kept_files_read_as_the_text_rows_they_would_have_landed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every landed, raw, quarantine and log row is the same whether the files are kept or
    landed as text rows (the only way before), with extra and nested columns, a conflicting
    duplicate across files, fractional seconds, padded text and missing values."""
    parquet(tmp_path, "dt=2024-01-01/a.parquet", events(1, 4))
    parquet(tmp_path, "dt=2024-01-02/b.parquet", events(2, 3) + " union all select 'e1_0', "
            "'logged_in', timestamp '2024-01-02 08:00:00', 'u9', NULL, NULL")
    parquet(tmp_path, "dt=2024-01-03/c.parquet", events(
        3, 2, ", {'k': i, 'l': [1, 2]} as nested, i * 2.5 as Score"))
    parquet(tmp_path, "dt=2024-01-04/d.parquet", "select 'e4_0' as event_id, '' as event_name, "
            "timestamp '2024-01-04 00:00:00' as occurred_at, NULL as user_id, "
            "NULL as anonymous_id, 'not json' as properties")
    # A missing timestamp in a file that holds timestamps (under a name in other case),
    # and timestamps as text.
    parquet(tmp_path, "dt=2024-01-05/e.parquet", "select * rename (occurred_at as "
            "\" Occurred_At\") from (" + events(5, 1) + " union all select 'e5_9', "
            "'logged_in', NULL, 'u9', NULL, NULL)")
    parquet(tmp_path, "dt=2024-01-05/f.parquet", "select 'e5_8' as event_id, 'logged_in' as "
            "event_name, '2024-01-05T10:00:00+01:00' as occurred_at, 'u8' as user_id, "
            "NULL as anonymous_id, NULL as properties")

    keeping = duckdb.connect()
    ingest_source(keeping, tmp_path, "product_events", now=NOW)
    # The derive types a kept file's timestamps as the file holds them (not their text):
    # the rows table, then one part per schema, the text timestamps of f.parquet as text.
    assert [native for _, native in kept.typed_branches(keeping, "product_events")] == [
        frozenset(), frozenset({"occurred_at"}), frozenset({"occurred_at"}),
        frozenset({"occurred_at"}), frozenset({"occurred_at"}), frozenset()]
    monkeypatch.setattr(readers, "keepable", lambda schema, cmap: False)
    text = duckdb.connect()
    ingest_source(text, tmp_path, "product_events", now=NOW)

    for query in (LANDED, RAW, QUARANTINE, LOG):
        assert keeping.execute(query).fetchall() == text.execute(query).fetchall(), query
    # Kept: no text rows, four registered files and their copies; landed as text: none kept.
    assert keeping.execute("select count(*) from landed.product_events_rows").fetchall() == [(0,)]
    assert registered(keeping) == [("product_events/dt=2024-01-01/a.parquet", 4, 0),
                                   ("product_events/dt=2024-01-02/b.parquet", 4, 4),
                                   ("product_events/dt=2024-01-03/c.parquet", 2, 8),
                                   ("product_events/dt=2024-01-04/d.parquet", 1, 10),
                                   ("product_events/dt=2024-01-05/e.parquet", 2, 11),
                                   ("product_events/dt=2024-01-05/f.parquet", 1, 13)]
    assert len(copies(keeping)) == 6
    assert text.execute("select count(*) from landed.product_events_rows").fetchall() == [(14,)]
    assert registered(text) == []
    # The numbers, by hand: 14 landed; e1_0 twice with different content (both out); d's
    # one row has no event_name and a properties value that is not JSON; e5_9 has no
    # occurred_at.
    assert keeping.execute(LOG).fetchall() == [
        ("product_events/dt=2024-01-01/a.parquet", 4, 3, 1, "ingested"),
        ("product_events/dt=2024-01-02/b.parquet", 4, 3, 1, "ingested"),
        ("product_events/dt=2024-01-03/c.parquet", 2, 2, 0, "ingested"),
        ("product_events/dt=2024-01-04/d.parquet", 1, 0, 1, "ingested"),
        ("product_events/dt=2024-01-05/e.parquet", 2, 1, 1, "ingested"),
        ("product_events/dt=2024-01-05/f.parquet", 1, 1, 0, "ingested"),
    ]
    assert keeping.execute(
        "select line, reason from ops.quarantine where file like '%e.parquet'").fetchall() == [
        (2, "missing required value in column occurred_at")]
    assert keeping.execute(
        "select occurred_at from raw.product_events where event_id = 'e5_8'").fetchall() == [
        (datetime(2024, 1, 5, 9, 0, 0),)]
    assert keeping.execute(
        "select _line, occurred_at, anonymous_id, _extra from landed.product_events "
        "where _file like '%c.parquet' order by _line").fetchall() == [
        (1, "2024-01-03 10:00:00", None, '{"nested":{"k":0,"l":[1,2]},"Score":0.0}'),
        (2, "2024-01-03 10:00:01.5", "  a1 ", '{"nested":{"k":1,"l":[1,2]},"Score":2.5}')]
    assert keeping.execute(
        "select event_id, occurred_at, anonymous_id from raw.product_events "
        "where _file like '%c.parquet' order by _line").fetchall() == [
        ("e3_0", datetime(2024, 1, 3, 10, 0, 0), None),
        ("e3_1", datetime(2024, 1, 3, 10, 0, 1, 500000), "a1")]
    check_invariants(keeping, "product_events")


def test_kept_copies_belong_to_the_warehouse(tmp_path: Path) -> None:
    """The landing files may go: the rows re-derive from the copies. A file changed in place
    has its rows replaced and its earlier copy deleted; the copies are then exactly the
    registered files. A missing copy is named, not a traceback."""
    landing = tmp_path / "landing"
    a = parquet(landing, "a.parquet", events(1, 3))
    parquet(landing, "b.parquet", events(2, 2))
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    ingest_source(con, landing, "product_events", now=NOW)
    before = con.execute(RAW).fetchall()
    assert len(before) == 5
    assert (tmp_path / "warehouse.duckdb.landed" / "product_events").is_dir()
    assert len(copies(con)) == 2

    a.unlink()
    (landing / "product_events" / "b.parquet").unlink()
    result = ingest_source(con, landing, "product_events", now=NOW, rederive=True)
    assert result.derive_mode == "full"
    assert con.execute(RAW).fetchall() == before

    parquet(landing, "a.parquet", events(5, 2))  # a.parquet again, other content
    result = ingest_source(con, landing, "product_events", now=NOW)
    assert result.replaced == ["product_events/a.parquet"]
    assert con.execute("select event_id from raw.product_events order by _file, _line"
                       ).fetchall() == [("e5_0",), ("e5_1",), ("e2_0",), ("e2_1",)]
    # The replaced file's earlier copy goes at the next ingestion of the source.
    assert len(copies(con)) == 3
    ingest_source(con, landing, "product_events", now=NOW)
    assert sorted(copies(con)) == sorted(r[0] for r in con.execute(
        "select copy from landed.parquet_files").fetchall())
    assert len(copies(con)) == 2
    check_invariants(con, "product_events")

    con.close()
    for path in (tmp_path / "warehouse.duckdb.landed" / "product_events").glob("*.parquet"):
        path.unlink()
    con = duckdb.connect(str(db))
    prepare_warehouse(con)  # every source's tables: the other sources are not held up
    with pytest.raises(KeptFilesMissingError, match=r"2 kept Parquet file\(s\) of product_events "
                       r"are missing from .*warehouse\.duckdb\.landed/product_events"):
        ingest_source(con, landing, "product_events", now=NOW)


def test_a_file_whose_pages_do_not_decode_is_logged_unreadable(tmp_path: Path) -> None:
    """Its footer reads (schema, row count) but a page is corrupt: the batch falls back to
    file by file, the good file is kept, the bad one logged unreadable with DuckDB's reason,
    and no copy of it stays behind; so is a corrupt file whose rows land as text (it cannot
    be kept), where DuckDB's bare error used to stop the run."""
    parquet(tmp_path, "a.parquet", events(1, 2))
    bad = parquet(tmp_path, "b.parquet", "select 'e' || i as event_id, 'signed_up' as "
                  "event_name, timestamp '2024-01-01' + to_seconds(i) as occurred_at, "
                  "'u' || (i % 97) as user_id, NULL as anonymous_id, repeat('x', i % 50) as "
                  "properties from range(20000) t(i)")
    # c cannot be kept (no event_name: its rows would land as text) and is corrupt too; its
    # zstd pages fail with DuckDB's bare error ("Out of buffer"), b's snappy ones by name.
    text_only = tmp_path / "product_events" / "c.parquet"
    duckdb.execute("copy (select 'e' || i as event_id, timestamp '2024-01-01' + to_seconds(i) "
                   "as occurred_at, 'u' || (i % 97) as user_id, repeat('x', i % 50) as "
                   f"properties from range(20000) t(i)) to '{text_only}' "
                   "(format parquet, compression zstd)")
    for path in (bad, text_only):
        data = bytearray(path.read_bytes())
        for offset in range(200, 2200):
            data[offset] ^= 0x5A
        path.write_bytes(bytes(data))

    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "product_events", now=NOW)
    assert con.execute(LOG).fetchall() == [
        ("product_events/a.parquet", 2, 2, 0, "ingested"),
        ("product_events/b.parquet", 0, 0, 0, "unreadable"),
        ("product_events/c.parquet", 0, 0, 0, "unreadable"),
    ]
    for name, reason in (("b.parquet", "Snappy decompression failure"),
                         ("c.parquet", "cannot decode the file's pages: Out of buffer")):
        assert any(f"{name}: cannot read the file" in m and reason in m
                   for m in result.messages), name
    assert len(copies(con)) == 1
    assert registered(con) == [("product_events/a.parquet", 2, 0)]


def _invoice_lines(first: int, n: int, blank_tail: bool = False) -> str:
    rows = "".join(
        f'{{"invoice_id": "i{k}", "customer_id": "c{k % 3}", "issued_at": '
        f'"2024-01-{1 + k % 28:02d} 10:00:00", "amount": "{k}.50", "currency": "USD"}}\n'
        for k in range(first, first + n))
    return rows + ("\n  \n" if blank_tail else "")


def _invoices(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select _file, _line, invoice_id, amount from landed.invoices "
                       "order by _file, _line").fetchall()


def test_jsonl_rows_kept_as_one_file_keep_their_ids_apart_and_follow_replacements(
        tmp_path: Path) -> None:
    """JSON-lines files landed together are written once, as one Parquet file of their text
    rows, registered per landing file: rows of later batches never share an id with them
    (also after blank last lines, whose ids are reserved too); a file changed in place has
    its earlier rows left out though they stay in the shared file, which is deleted only
    when no landing file of it is left."""
    folder = tmp_path / "invoices"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_invoice_lines(0, 3))
    (folder / "b.jsonl").write_text(_invoice_lines(3, 2, blank_tail=True))  # lines 3, 4 blank
    con = duckdb.connect()
    ingest_source(con, tmp_path, "invoices", now=NOW)
    assert con.execute("select file, first_rid, rows from landed.parquet_files "
                       "order by file").fetchall() == [("invoices/a.jsonl", 0, 3),
                                                       ("invoices/b.jsonl", 3, 4)]
    assert con.execute("select count(*) from landed.invoices_rows").fetchall() == [(0,)]
    first_copy = {r[0] for r in con.execute("select copy from landed.parquet_files").fetchall()}
    assert len(first_copy) == 1

    (folder / "c.jsonl").write_text(_invoice_lines(5, 2))
    (folder / "d.jsonl").write_text(_invoice_lines(7, 1))
    ingest_source(con, tmp_path, "invoices", now=NOW)
    assert con.execute("select file, first_rid, rows from landed.parquet_files where file "
                       "in ('invoices/c.jsonl', 'invoices/d.jsonl') order by file").fetchall() == [
        ("invoices/c.jsonl", 7, 2), ("invoices/d.jsonl", 9, 1)]
    rids = con.execute("select list(_rid order by _rid) from landed.invoices").fetchall()[0][0]
    # a: -1..-3; b: -4, -5 (-6, -7: its blank lines); c: -8, -9; d: -10
    assert rids == [-10, -9, -8, -5, -4, -3, -2, -1]
    assert con.execute("select count(*) from raw.invoices").fetchall() == [(8,)]

    (folder / "b.jsonl").write_text(_invoice_lines(30, 1))  # changed in place
    result = ingest_source(con, tmp_path, "invoices", now=NOW)
    assert result.replaced == ["invoices/b.jsonl"]
    assert [r for r in _invoices(con) if r[0] in ("invoices/a.jsonl", "invoices/b.jsonl")] == [
        ("invoices/a.jsonl", 1, "i0", "0.50"), ("invoices/a.jsonl", 2, "i1", "1.50"),
        ("invoices/a.jsonl", 3, "i2", "2.50"), ("invoices/b.jsonl", 1, "i30", "30.50")]
    assert con.execute("select invoice_id from raw.invoices where _file = 'invoices/b.jsonl'"
                       ).fetchall() == [("i30",)]
    check_invariants(con, "invoices")
    folder_of_copies = kept.kept_dir(con) / "invoices"
    assert first_copy <= {p.name for p in folder_of_copies.glob("*.parquet")}  # a still in it

    (folder / "a.jsonl").write_text(_invoice_lines(40, 1))  # the shared file's last one
    ingest_source(con, tmp_path, "invoices", now=NOW)
    ingest_source(con, tmp_path, "invoices", now=NOW)  # the next run sweeps it
    assert not first_copy & {p.name for p in folder_of_copies.glob("*.parquet")}
    assert [r[2] for r in _invoices(con)] == ["i40", "i30", "i5", "i6", "i7"]


def test_jsonl_rows_kept_before_a_contract_column_existed_read_it_as_missing(
        tmp_path: Path) -> None:
    """A file of kept text rows written when the contract had fewer columns reads the
    columns it lacks as NULL, like the rows table given a new column."""
    folder = tmp_path / "invoices"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_invoice_lines(0, 2))
    (folder / "b.jsonl").write_text(_invoice_lines(2, 1))
    con = duckdb.connect()
    ingest_source(con, tmp_path, "invoices", now=NOW)
    (copy, key), = con.execute("select distinct copy, columns from landed.parquet_files"
                               ).fetchall()
    path = kept.kept_dir(con) / "invoices" / copy
    older = [c for c in kept.json.loads(key)[kept.ROWS_KIND] if c != "product"]
    con.execute(f"copy (select {', '.join(older)}, _rid from '{path}') to '{path}.old' "
                "(format parquet)")
    Path(f"{path}.old").replace(path)
    con.execute("update landed.parquet_files set columns = ?", [kept.rows_key(older)])
    kept.refresh_views(con, ["invoices"])
    assert con.execute("select _file, _line, invoice_id, product from landed.invoices "
                       "order by _file, _line").fetchall() == [
        ("invoices/a.jsonl", 1, "i0", None), ("invoices/a.jsonl", 2, "i1", None),
        ("invoices/b.jsonl", 1, "i2", None)]
