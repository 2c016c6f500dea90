"""Ingestion of landing files: formats, line numbers, idempotence, empty and unreadable
files. Landing files are written by each test into tmp_path."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES
from dagster_project.ingest import (
    LANDING_SUFFIXES,
    SourceIngestResult,
    check_invariants,
    ingest_all,
    ingest_source,
    prepare_warehouse,
)

NOW = datetime(2024, 3, 1, 12, 0, 0)


def write(root: Path, name: str, data: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def balanced(con: duckdb.DuckDBPyConnection, source: str) -> None:
    check_invariants(con, source)
    assert con.execute(
        "select count(*) from ops.ingestion_log where source = ? and "
        "(accepted_rows is null or landed_rows <> accepted_rows + quarantined_rows)",
        [source],
    ).fetchall() == [(0,)]


def log(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return con.execute(
        "select file, landed_rows, accepted_rows, quarantined_rows from ops.ingestion_log "
        "where source = ? order by file",
        [source],
    ).fetchall()


def landed_lines(con: duckdb.DuckDBPyConnection, source: str, key: str) -> list[tuple]:
    return con.execute(
        f"select _line, {key}, _read_error is not null from landed.{source} order by _line"
    ).fetchall()


# --- every format gives the same raw rows -----------------------------------------------

SUB_COLUMNS = SOURCES["subscription_events"].column_names
SUB_ROWS = [
    # event_id, subscription_id, customer_id, event_type, effective_at, occurred_at, plan_id,
    # billing_period, unit_amount, quantity, discount_amount, currency
    ["se1", "s1", "c1", "created", "2024-01-05T23:30:00-02:00", "2024-01-05T23:30:00Z", "pro",
     "month", 49.5, 2, 0, "USD"],
    ["se2", "s1", "c1", "changed", "2024-02-01 00:00:00", None, "pro", "year", 480, 3, None,
     "eur"],
    ["se3", "s2", "c2", "canceled", "2024-03-01", None, None, None, None, None, None, "USD"],
    ["se4", "s3", "c3", "created", "2024-03-02T08:00:00+05:30", None, "team, large", "quarter",
     1200.25, 10, 50.75, "GBP"],
]


def _csv_text() -> str:
    def cell(v: object) -> str:
        if v is None:
            return ""
        text = str(v)
        return f'"{text}"' if "," in text else text

    lines = [",".join(SUB_COLUMNS)] + [",".join(cell(v) for v in row) for row in SUB_ROWS]
    return "\n".join(lines) + "\n"


def _jsonl_text() -> str:
    return "".join(
        json.dumps({c: v for c, v in zip(SUB_COLUMNS, row) if v is not None}) + "\n"
        for row in SUB_ROWS
    )


def _parquet(path: Path) -> bytes:
    """Typed Parquet columns (timestamps with time zone, doubles, integers)."""
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    values = []
    for row in SUB_ROWS:
        sql = []
        for col, v in zip(SUB_COLUMNS, row):
            kind = SOURCES["subscription_events"].column(col).type
            if v is None:
                sql.append("NULL")
            elif kind == "timestamp":
                sql.append(f"timestamptz '{v}'")
            elif kind in ("money", "int"):
                sql.append(f"{v}::{'double' if kind == 'money' else 'bigint'}")
            else:
                sql.append(f"'{v}'")
        values.append("(" + ", ".join(sql) + ")")
    cols = ", ".join(SUB_COLUMNS)
    con.execute(f"copy (select * from (values {', '.join(values)}) t({cols})) "
                f"to '{path}' (format parquet)")
    con.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def format_files(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("formats")
    csv_text, jsonl_text = _csv_text(), _jsonl_text()
    return {
        "csv": csv_text.encode(),
        "csv.gz": gzip.compress(csv_text.encode()),
        "jsonl": jsonl_text.encode(),
        "jsonl.gz": gzip.compress(jsonl_text.encode()),
        "ndjson": jsonl_text.encode(),
        "ndjson.gz": gzip.compress(jsonl_text.encode()),
        "parquet": _parquet(tmp / "x.parquet"),
    }


def _raw_of(root: Path, name: str, data: bytes) -> list[tuple]:
    write(root, f"subscription_events/dt=2024-03-01/{name}", data)
    con = duckdb.connect()
    result = ingest_source(con, root, "subscription_events", now=NOW)
    assert (result.landed_rows, result.accepted_rows, result.quarantined_rows) == (4, 4, 0), \
        result.messages
    balanced(con, "subscription_events")
    cols = ", ".join(SUB_COLUMNS)
    return con.execute(f"select {cols} from raw.subscription_events order by event_id").fetchall()


@pytest.mark.parametrize("suffix", ["csv.gz", "jsonl", "jsonl.gz", "ndjson", "ndjson.gz", "parquet"])
def test_every_format_gives_the_same_raw_rows_as_csv(tmp_path, format_files, suffix) -> None:
    expected = _raw_of(tmp_path / "csv", "events.csv", format_files["csv"])
    assert expected[0][4] == datetime(2024, 1, 6, 1, 30)  # offsets converted to UTC
    assert expected[1][11] == "EUR" and expected[1][10] == 0.0  # normalised, default applied
    assert expected[3][4] == datetime(2024, 3, 2, 2, 30)
    assert expected[3][6] == "team, large"
    assert _raw_of(tmp_path / suffix, f"events.{suffix}", format_files[suffix]) == expected


def test_landing_suffixes() -> None:
    assert set(LANDING_SUFFIXES) == {".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson",
                                     ".ndjson.gz", ".parquet"}


# --- line numbers ----------------------------------------------------------------------

CUSTOMER_HEADER = "customer_id,created_at,name\n"


def test_csv_lines_are_physical_lines(tmp_path: Path) -> None:
    text = (
        CUSTOMER_HEADER                      # 1
        + "c1,2024-01-01,A\n"                # 2
        + "c2,2024-01-01\n"                  # 3 too few columns
        + "\n"                               # 4 blank: skipped
        + 'c3,2024-01-01,"two\n'             # 5 a value spanning two lines
        + 'lines, ""quoted"""\n'             # 6
        + "c4,2024-01-01,D\n"                # 7
        + "c5,2024-01-01,E,extra\n"          # 8 too many columns
        + "c6,2024-01-01,F\n"                # 9
    )
    for name, data in {"a.csv": text.encode(), "b.csv": text.replace("\n", "\r\n").encode(),
                       "c.csv.gz": gzip.compress(text.encode())}.items():
        write(tmp_path / name, f"customers/{name}", data)
        con = duckdb.connect()
        result = ingest_source(con, tmp_path / name, "customers")
        assert landed_lines(con, "customers", "customer_id") == [
            (2, "c1", False), (3, None, True), (5, "c3", False), (7, "c4", False),
            (8, None, True), (9, "c6", False),
        ], name
        assert not [m for m in result.messages if "line numbers" in m]
        value = con.execute("select name from raw.customers where customer_id = 'c3'").fetchall()
        newline = "\r\n" if name == "b.csv" else "\n"
        assert value == [(f'two{newline}lines, "quoted"',)]
        balanced(con, "customers")


def test_csv_unterminated_quote_and_invalid_utf8(tmp_path: Path) -> None:
    data = (
        CUSTOMER_HEADER.encode()
        + b"c1,2024-01-01,A\n"
        + b"c2,2024-01-01,\xff\xfe\n"              # 3 invalid UTF-8
        + b"c3,2024-01-01,C\n"
        + b'c4,2024-01-01,"never closed\n'       # 5 unterminated quote: runs to the end
        + b"c5,2024-01-01,E\n"
    )
    write(tmp_path, "customers/a.csv", data)
    con = duckdb.connect()
    ingest_source(con, tmp_path, "customers")
    rows = con.execute(
        "select line, reason from ops.quarantine order by line"
    ).fetchall()
    assert [r[0] for r in rows] == [3, 5]
    assert rows[0][1].startswith("malformed CSV line: invalid encoding")
    assert "unterminated quote" in rows[1][1].lower()
    assert landed_lines(con, "customers", "customer_id") == [
        (2, "c1", False), (3, None, True), (4, "c3", False), (5, None, True),
    ]
    balanced(con, "customers")


def test_jsonl_lines_are_physical_lines(tmp_path: Path) -> None:
    data = (
        b'{"customer_id":"c1","created_at":"2024-01-01"}\n'       # 1
        b"\n"                                                     # 2 blank: skipped
        b'{"customer_id":"c2","created_at":"2024-01-01"}\r\n'     # 3 CRLF line
        b"   \n"                                                  # 4 blank
        b'{"customer_id":"c3","created_at":"2024-01-01"} trailing\n'  # 5 invalid JSON
        b'{"customer_id":"c4","created_at":"\xff"}\n'             # 6 invalid UTF-8
        b'["c5"]\n'                                               # 7 not an object
        b'{"Customer_ID ":"c6","CREATED_AT":"2024-01-01"}'       # 8 no final newline
    )
    write(tmp_path, "customers/a.jsonl", data)
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert landed_lines(con, "customers", "customer_id") == [
        (1, "c1", False), (3, "c2", False), (5, None, True), (6, None, True), (7, None, True),
        (8, "c6", False),
    ]
    reasons = con.execute("select line, reason from ops.quarantine order by line").fetchall()
    assert reasons[0] == (5, "invalid JSON line")
    assert reasons[1][0] == 6 and reasons[1][1].startswith("malformed line: invalid encoding")
    assert reasons[2] == (7, "JSON line is not an object: array")
    assert not [m for m in result.messages if "line numbers" in m]
    balanced(con, "customers")


def test_parquet_lines_are_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "customers" / "a.parquet"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"copy (select 'c' || i as customer_id, case when i = 3 then 'bad' else '2024-01-01' end "
        f"as created_at, i as extra_number from range(1, 6) t(i)) to '{path}' (format parquet)"
    )
    ingest_source(con, tmp_path, "customers")
    assert con.execute("select line, reason from ops.quarantine").fetchall() == [
        (3, "unparsable timestamp in column created_at")
    ]
    assert con.execute(
        "select customer_id, _line, _extra from landed.customers order by _line limit 2"
    ).fetchall() == [("c1", 1, '{"extra_number":1}'), ("c2", 2, '{"extra_number":2}')]


@pytest.mark.parametrize("blank_line", [False, True])
def test_line_numbers_stay_in_file_order_on_a_large_parallel_read(tmp_path: Path,
                                                                  blank_line: bool) -> None:
    """~1.2 million rows (more than one CSV buffer, read in parallel by 4 threads): every
    row's event_id says its line; every 997th line has too many columns. With a blank line
    the second numbering pass is used."""
    path = tmp_path / "product_events" / "big.csv"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set threads=4")
    n = 1_200_000
    body = tmp_path / "body.txt"
    con.execute(
        f"""copy (
            select case when {blank_line} and i = 500000 then ''
                        when i % 997 = 0 then 'e' || i || ',x,2024-01-01,u,,,EXTRA'
                        else 'e' || i || ',click,2024-01-01,u' || (i % 10) || ',,' end as line
            from range(2, {n + 2}) t(i) order by i
        ) to '{body}' (format csv, header false, quote '', escape '', delimiter '\t')"""
    )
    path.write_text("event_id,event_name,occurred_at,user_id,anonymous_id,properties\n"
                    + body.read_text())
    result = ingest_source(con, tmp_path, "product_events")
    expected_rows = n - (1 if blank_line else 0)
    assert result.landed_rows == expected_rows
    wrong = con.execute(
        "select count(*) from landed.product_events where _line is distinct from "
        "cast(substr(coalesce(event_id, split_part(_raw_line, ',', 1)), 2) as bigint)"
    ).fetchall()
    assert wrong == [(0,)]
    bad = con.execute("select count(*) from ops.quarantine").fetchall()[0][0]
    assert bad == len([i for i in range(2, n + 2) if i % 997 == 0])
    balanced(con, "product_events")


# --- idempotence, duplicates, changed files --------------------------------------------


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = [r[0] + "." + r[1] for r in con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where schema_name in ('landed', 'raw', 'ops') union all "
        "select schema_name, view_name from duckdb_views() where schema_name = 'landed' "
        "order by 1, 2"
    ).fetchall()]
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in tables}


def test_reingesting_the_same_files_changes_nothing(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures" / "ingest" / "landing"
    con = duckdb.connect()
    first = ingest_all(con, fixtures, now=NOW)
    before = _snapshot(con)
    second = ingest_all(con, fixtures, now=datetime(2024, 3, 2))
    assert _snapshot(con) == before
    for source, result in second.items():
        assert result.files_ingested == 0 and not result.derived
        assert result.files_skipped == first[source].files_seen
        assert result.quarantined_rows == first[source].quarantined_rows


def test_the_same_file_under_another_path_is_skipped(tmp_path: Path) -> None:
    text = CUSTOMER_HEADER + "c1,2024-01-01,A\n"
    write(tmp_path, "customers/dt=2024-01-01/a.csv", text)
    con = duckdb.connect()
    ingest_source(con, tmp_path, "customers", now=NOW)
    before = _snapshot(con)
    write(tmp_path, "customers/dt=2024-01-02/copy_of_a.csv", text)
    result = ingest_source(con, tmp_path, "customers", now=NOW)
    assert (result.files_seen, result.files_ingested, result.files_skipped) == (2, 0, 2)
    assert any("same content as customers/dt=2024-01-01/a.csv" in m for m in result.messages)
    assert result.copies == [("customers/dt=2024-01-02/copy_of_a.csv",
                              "customers/dt=2024-01-01/a.csv")]
    after = _snapshot(con)
    assert after.pop("ops.file_history") != before.pop("ops.file_history")
    assert after == before  # nothing else changed
    # The skipped copy is kept in ops, once: the next run does not report it again.
    history = "select file, event, same_as from ops.file_history order by file"
    assert con.execute(history).fetchall() == [
        ("customers/dt=2024-01-02/copy_of_a.csv", "skipped_copy", "customers/dt=2024-01-01/a.csv")]
    assert ingest_source(con, tmp_path, "customers", now=NOW).copies == []
    assert len(con.execute(history).fetchall()) == 1
    # Two new copies in one run: the first in path order is ingested.
    write(tmp_path, "customers/dt=2024-01-03/b.csv", CUSTOMER_HEADER + "c2,2024-01-01,B\n")
    write(tmp_path, "customers/dt=2024-01-04/b.csv", CUSTOMER_HEADER + "c2,2024-01-01,B\n")
    result = ingest_source(con, tmp_path, "customers", now=NOW)
    assert result.files_ingested == 1
    assert [r[0] for r in log(con, "customers")] == [
        "customers/dt=2024-01-01/a.csv", "customers/dt=2024-01-03/b.csv"]


def test_a_changed_file_replaces_its_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "customers/a.csv", CUSTOMER_HEADER + "c1,2024-01-01,A\nc2,bad,B\n")
    con = duckdb.connect()
    ingest_source(con, tmp_path, "customers")
    assert log(con, "customers") == [("customers/a.csv", 2, 1, 1)]
    path.write_text(CUSTOMER_HEADER + "c1,2024-01-01,A2\n")
    first_hash = con.execute("select content_hash from ops.ingestion_log").fetchall()[0][0]
    result = ingest_source(con, tmp_path, "customers")
    assert any("content changed" in m for m in result.messages)
    assert result.replaced == ["customers/a.csv"]
    assert log(con, "customers") == [("customers/a.csv", 1, 1, 0)]
    # The earlier version is kept: an auditor sees what the file held and when it changed.
    assert con.execute(
        "select file, content_hash, event, landed_rows, accepted_rows, quarantined_rows, "
        "recorded_at is not null from ops.file_history").fetchall() == [
        ("customers/a.csv", first_hash, "replaced", 2, 1, 1, True)]
    assert con.execute("select customer_id, name from raw.customers").fetchall() == [("c1", "A2")]
    assert con.execute("select count(*) from ops.quarantine").fetchall() == [(0,)]
    balanced(con, "customers")


def test_later_files_can_quarantine_rows_accepted_earlier(tmp_path: Path) -> None:
    """Each run re-derives the whole source, so the result does not depend on how files
    were batched into runs."""
    header = "invoice_id,customer_id,issued_at,amount,currency\n"
    write(tmp_path, "invoices/a.csv", header + "i1,c1,2024-01-01,10,USD\n")
    con = duckdb.connect()
    ingest_source(con, tmp_path, "invoices")
    write(tmp_path, "invoices/b.csv", header + "i1,c1,2024-01-01,12,USD\n")
    ingest_source(con, tmp_path, "invoices")
    assert log(con, "invoices") == [("invoices/a.csv", 1, 0, 1), ("invoices/b.csv", 1, 0, 1)]
    one_run = duckdb.connect()
    ingest_source(one_run, tmp_path, "invoices")
    assert log(one_run, "invoices") == log(con, "invoices")


# --- empty, missing and unreadable -----------------------------------------------------


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    write(tmp_path, "customers/empty.csv", b"")
    write(tmp_path, "customers/header_only.csv", CUSTOMER_HEADER)
    write(tmp_path, "customers/empty.jsonl", b"")
    write(tmp_path, "customers/blank_lines.jsonl", b"\n\n")
    write(tmp_path, "customers/header_only.csv.gz", gzip.compress(b"customer_id,created_at\n"))
    write(tmp_path, "customers/ok.csv", CUSTOMER_HEADER + "c1,2024-01-01,A\n")
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert log(con, "customers") == [
        ("customers/blank_lines.jsonl", 0, 0, 0),
        ("customers/empty.csv", 0, 0, 0),
        ("customers/header_only.csv", 0, 0, 0),
        ("customers/header_only.csv.gz", 0, 0, 0),
        ("customers/ok.csv", 1, 1, 0),
    ]
    # Every 0-byte file has the same content (hash): the second one is a copy.
    assert "customers/empty.jsonl: same content as customers/empty.csv, already ingested: " \
        "skipped" in result.messages
    assert (result.files_ingested, result.files_skipped) == (5, 1)
    assert (result.landed_rows, result.accepted_rows) == (1, 1)
    balanced(con, "customers")


def test_unreadable_files_do_not_stop_the_others(tmp_path: Path) -> None:
    """A file that cannot be read at all is not a row: it is logged as unreadable with its
    size and error, holds no rows, and is named in the result until it leaves the landing."""
    write(tmp_path, "customers/a_corrupt.csv.gz", b"this is not gzip")
    good = gzip.compress((CUSTOMER_HEADER + "c1,2024-01-01,A\nc2,2024-01-01,B\n").encode())
    write(tmp_path, "customers/b_truncated.csv.gz", good[: len(good) // 2])
    write(tmp_path, "customers/c_corrupt.parquet", b"PAR1 certainly not parquet PAR1")
    write(tmp_path, "customers/d_ok.csv", CUSTOMER_HEADER + "c1,2024-01-01,A\n")
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert log(con, "customers") == [
        ("customers/a_corrupt.csv.gz", 0, 0, 0),
        ("customers/b_truncated.csv.gz", 0, 0, 0),
        ("customers/c_corrupt.parquet", 0, 0, 0),
        ("customers/d_ok.csv", 1, 1, 0),
    ]
    statuses = con.execute(
        "select file, status, file_bytes, error from ops.ingestion_log order by file").fetchall()
    assert [(f, st, n) for f, st, n, _ in statuses] == [
        ("customers/a_corrupt.csv.gz", "unreadable", 16),
        ("customers/b_truncated.csv.gz", "unreadable", len(good) // 2),
        ("customers/c_corrupt.parquet", "unreadable", 31),
        ("customers/d_ok.csv", "ingested", len(CUSTOMER_HEADER) + len("c1,2024-01-01,A\n")),
    ]
    assert all(e.startswith("cannot read file: ") for _, _, _, e in statuses[:3])
    assert "gzip" in statuses[0][3].lower() and statuses[3][3] is None
    assert con.execute("select count(*) from ops.quarantine").fetchall() == [(0,)]
    assert (result.landed_rows, result.accepted_rows, result.quarantined_rows) == (1, 1, 0)
    assert [(name, size) for name, size, _ in result.unreadable] == [
        ("customers/a_corrupt.csv.gz", 16), ("customers/b_truncated.csv.gz", len(good) // 2),
        ("customers/c_corrupt.parquet", 31)]
    assert sum("cannot read the file" in m for m in result.messages) == 3
    balanced(con, "customers")
    # The same bytes are not retried, and stay named while they are in the landing folder.
    again = ingest_source(con, tmp_path, "customers")
    assert again.files_ingested == 0 and len(again.unreadable) == 3
    # A fixed file (new content) replaces the broken one; a removed one is no longer named.
    write(tmp_path, "customers/a_corrupt.csv.gz", gzip.compress(b"customer_id,created_at\n"))
    (tmp_path / "customers" / "c_corrupt.parquet").unlink()
    fixed = ingest_source(con, tmp_path, "customers")
    assert [name for name, _, _ in fixed.unreadable] == ["customers/b_truncated.csv.gz"]
    assert log(con, "customers")[0] == ("customers/a_corrupt.csv.gz", 0, 0, 0)
    balanced(con, "customers")


def test_a_missing_source_folder_gives_empty_tables(tmp_path: Path) -> None:
    con = duckdb.connect()
    results = ingest_all(con, tmp_path / "does_not_exist")
    assert set(results) == set(SOURCES)
    for source, result in results.items():
        assert isinstance(result, SourceIngestResult)
        assert (result.files_seen, result.landed_rows, result.messages) == (0, 0, [])
        assert con.execute(f"select count(*) from raw.{source}").fetchall() == [(0,)]
        assert con.execute(f"select count(*) from landed.{source}").fetchall() == [(0,)]
    assert con.execute("select count(*) from ops.ingestion_log").fetchall() == [(0,)]
    assert con.execute("select count(*) from ops.quarantine").fetchall() == [(0,)]


def test_an_empty_folder_and_other_files(tmp_path: Path) -> None:
    write(tmp_path, "customers/README.txt", "notes")
    write(tmp_path, "customers/.a.csv.partial", "x")
    write(tmp_path, "customers/.hidden.csv", "x")
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert result.files_seen == 0
    assert len(result.messages) == 1 and "ignored 3 file(s)" in result.messages[0]
    assert "README.txt" in result.messages[0]


# --- columns ------------------------------------------------------------------------------


def test_columns_match_case_insensitively_and_missing_optional_columns_are_null(tmp_path):
    write(tmp_path, "customers/a.csv", " Customer_ID ,CREATED_AT,Notes\nc1,2024-01-01,hello\n")
    con = duckdb.connect()
    ingest_source(con, tmp_path, "customers")
    assert con.execute(
        "select customer_id, created_at, name, segment, _extra from landed.customers"
    ).fetchall() == [("c1", "2024-01-01", None, None, '{"Notes":"hello"}')]
    assert con.execute("select customer_id, name from raw.customers").fetchall() == [("c1", None)]


def test_prepare_warehouse_is_idempotent_and_sets_utc() -> None:
    con = duckdb.connect()
    con.execute("set TimeZone='Europe/Berlin'")
    prepare_warehouse(con)
    prepare_warehouse(con)
    assert con.execute("select current_setting('TimeZone')").fetchall() == [("UTC",)]
    schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    assert {"landed", "raw", "ops"} <= schemas
    cols = con.execute("describe ops.ingestion_log").fetchall()
    # The contract's columns first, in order; then the ones added since (file_bytes,
    # status, error), which an older warehouse gains too.
    assert [c[0] for c in cols] == ["source", "file", "content_hash", "landed_rows",
                                    "accepted_rows", "quarantined_rows", "ingested_at",
                                    "file_bytes", "status", "error"]
    old = duckdb.connect()
    old.execute("create schema ops")
    old.execute("create table ops.ingestion_log (source VARCHAR, file VARCHAR, "
                "content_hash VARCHAR, landed_rows BIGINT, accepted_rows BIGINT, "
                "quarantined_rows BIGINT, ingested_at TIMESTAMP)")
    prepare_warehouse(old)
    assert [c[0] for c in old.execute("describe ops.ingestion_log").fetchall()][-3:] == [
        "file_bytes", "status", "error"]
    cols = con.execute("describe ops.quarantine").fetchall()
    assert [c[0] for c in cols] == ["source", "file", "line", "reason", "raw_record"]


def test_result_metadata_and_connection_left_usable(tmp_path: Path) -> None:
    write(tmp_path, "customers/a.csv", CUSTOMER_HEADER + "c1,2024-01-01,A\nc2,never,B\n")
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    meta = result.to_metadata()
    assert meta["landed_rows"] == 2 and meta["accepted_rows"] == 1
    assert meta["quarantined_rows"] == 1 and meta["quarantined_share"] == 0.5
    assert "customers/a.csv: line 3: unparsable timestamp in column created_at" in (
        meta["messages"])
    assert all(isinstance(v, (int, float, str, bool)) for v in meta.values())
    # No half-read result is left on the connection (duckdb 2.0 would refuse con.sql).
    assert con.sql("select count(*) from raw.customers").fetchall() == [(1,)]


def test_copying_fixture_landing_keeps_hashes(tmp_path: Path) -> None:
    """The content hash is the sha256 of the bytes, whatever the path."""
    import hashlib

    src = Path(__file__).parent / "fixtures" / "ingest" / "landing" / "bookings"
    shutil.copytree(src, tmp_path / "bookings")
    con = duckdb.connect()
    ingest_source(con, tmp_path, "bookings")
    expected = hashlib.sha256((src / "bookings.csv").read_bytes()).hexdigest()
    assert con.execute("select content_hash from ops.ingestion_log").fetchall() == [(expected,)]


def test_csv_mixing_crlf_and_lf_line_ends(tmp_path: Path) -> None:
    data = (b"customer_id,created_at,name\r\n"
            b"c1,2024-01-01,A\n"
            b'c2,2024-01-01,"B\r\nB"\r\n'
            b"\n"
            b"c3,2024-01-01,C,extra\r\n"
            b"c4,2024-01-01,D\n")
    write(tmp_path, "customers/a.csv", data)
    write(tmp_path, "customers/b.csv.gz", gzip.compress(data.replace(b"c4", b"c5")))
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert "customers/a.csv: mixed CRLF and LF line ends; read with LF only" in result.messages
    for name, last in (("customers/a.csv", "c4"), ("customers/b.csv.gz", "c5")):
        rows = con.execute(
            "select _line, customer_id, name from landed.customers where _file = ? order by _line",
            [name],
        ).fetchall()
        assert rows == [(2, "c1", "A"), (3, "c2", "B\nB"), (6, None, None), (7, last, "D")]
    balanced(con, "customers")


def test_a_stray_quote_with_a_blank_line_says_lines_may_be_off(tmp_path: Path) -> None:
    write(tmp_path, "customers/a.csv", CUSTOMER_HEADER + 'c1,2024-01-01,a"b\n\nc2,2024-01-01,B\n')
    con = duckdb.connect()
    result = ingest_source(con, tmp_path, "customers")
    assert any("line numbers after such lines may be off" in m for m in result.messages)
    assert con.execute("select customer_id, name from raw.customers order by _line").fetchall() \
        == [("c1", 'a"b'), ("c2", "B")]


def test_parquet_with_a_column_named_file_row_number(tmp_path: Path) -> None:
    path = tmp_path / "customers" / "a.parquet"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"copy (select 'c' || i as customer_id, '2024-01-01' as created_at, 7 as "
                f"file_row_number from range(3) t(i)) to '{path}' (format parquet)")
    ingest_source(con, tmp_path, "customers")
    assert con.execute("select customer_id, _line, _extra from landed.customers order by _line"
                       ).fetchall() == [("c0", 1, '{"file_row_number":7}'),
                                        ("c1", 2, '{"file_row_number":7}'),
                                        ("c2", 3, '{"file_row_number":7}')]


def test_parquet_nested_and_typed_values_land_as_text(tmp_path: Path) -> None:
    path = tmp_path / "product_events" / "a.parquet"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    con.execute(
        f"""copy (select 'e1' as event_id, 'click' as event_name,
                  timestamp '2024-01-05 23:30:00' as occurred_at, 42 as user_id,
                  {{'plan': 'pro', 'seats': 3}} as properties, [1, 2] as tags)
            to '{path}' (format parquet)"""
    )
    ingest_source(con, tmp_path, "product_events")
    assert con.execute(
        "select event_id, occurred_at, user_id, properties, _extra from landed.product_events"
    ).fetchall() == [("e1", "2024-01-05 23:30:00", "42", '{"plan":"pro","seats":3}',
                      '{"tags":[1,2]}')]
    assert con.execute("select occurred_at, properties from raw.product_events").fetchall() == [
        (datetime(2024, 1, 5, 23, 30), '{"plan":"pro","seats":3}')]


def test_unknown_source_is_a_user_error(tmp_path: Path) -> None:
    from dagster_project.errors import MetricsError

    with pytest.raises(MetricsError, match="unknown source 'customer'"):
        ingest_source(duckdb.connect(), tmp_path, "customer")


def test_landed_table_gains_new_contract_columns(tmp_path: Path) -> None:
    """A landed table made before the contract gained a column gets it added; one made
    before landed.<source> was a view (the table itself had that name) is renamed to
    landed.<source>_rows with its rows."""
    write(tmp_path, "customers/a.csv", CUSTOMER_HEADER + "c1,2024-01-01,A\n")
    write(tmp_path, "customers/b.csv", CUSTOMER_HEADER + "c2,2024-01-02,B\n")
    con = duckdb.connect()
    prepare_warehouse(con)
    con.execute("alter table landed.customers_rows drop column sales_rep_id")
    ingest_source(con, tmp_path, "customers")
    assert con.execute("select customer_id, sales_rep_id from landed.customers "
                       "order by 1").fetchall() == [("c1", None), ("c2", None)]
    # The layout of an older warehouse: landed.customers is the table, b.csv not landed yet.
    con.execute("drop view landed.customers")
    con.execute("alter table landed.customers_rows rename to customers")
    con.execute("alter table landed.customers drop column sales_rep_id")
    con.execute("delete from landed.customers where _file = 'customers/b.csv'")
    con.execute("delete from ops.ingestion_log where file = 'customers/b.csv'")
    assert con.execute("select count(*) from landed.customers").fetchall() == [(1,)]
    ingest_source(con, tmp_path, "customers")
    assert con.execute("select table_type from information_schema.tables where "
                       "table_schema = 'landed' and table_name = 'customers'").fetchall() == [("VIEW",)]
    assert con.execute("select customer_id, sales_rep_id, _file from landed.customers_rows "
                       "order by 1").fetchall() == [("c1", None, "customers/a.csv"),
                                     ("c2", None, "customers/b.csv")]
    assert con.execute("select customer_id from raw.customers order by 1").fetchall() == [
        ("c1",), ("c2",)]


def test_parquet_files_of_one_schema_land_together_as_they_would_one_by_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of Parquet files with one schema are landed by one statement (parallel reads);
    a file with another schema starts a new run, a file that cannot be read is landed
    alone (and logged unreadable), and every row, line and log count is what landing the
    files one by one gives."""
    from dagster_project.ingest import engine

    def parquet(name: str, select: str) -> None:
        path = tmp_path / "product_events" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb.execute(f"copy ({select}) to '{path}' (format parquet)")

    events = ("select 'e{0}_' || i as event_id, 'signed_up' as event_name, "
              "timestamp '2024-01-0{0} 10:00:00' + to_seconds(i) as occurred_at, "
              "'u' || i as user_id, {1} as properties from range({2}) t(i)")
    parquet("dt=2024-01-01/a.parquet", events.format(1, "'{\"k\":1}'", 3))
    parquet("dt=2024-01-02/b.parquet", events.format(2, "case when i = 1 then 'nope' end", 4))
    parquet("dt=2024-01-03/c.parquet", events.format(3, "'{}'", 2) .replace(
        "as user_id,", "as user_id, i as extra_number,"))  # another schema
    write(tmp_path, "product_events/dt=2024-01-04/d.parquet", b"PAR1 not parquet PAR1")
    parquet("dt=2024-01-05/e.parquet", events.format(5, "'{}'", 1))

    batches: list[list[str]] = []
    real = engine._batches

    def spy(con, files, changed):  # type: ignore[no-untyped-def]
        out = real(con, files, changed)
        batches.extend([f.rel for f in b] for b in out)
        return out

    monkeypatch.setattr(engine, "_batches", spy)
    together = duckdb.connect()
    ingest_source(together, tmp_path, "product_events", now=NOW)
    assert batches == [["dt=2024-01-01/a.parquet", "dt=2024-01-02/b.parquet"],
                       ["dt=2024-01-03/c.parquet"], ["dt=2024-01-04/d.parquet"],
                       ["dt=2024-01-05/e.parquet"]]

    monkeypatch.setattr(engine, "_batches", lambda con, files, changed: [[f] for f in files])
    alone = duckdb.connect()
    ingest_source(alone, tmp_path, "product_events", now=NOW)

    landed = ("select * exclude (_ingested_at) from landed.product_events "
              "order by _file, _line nulls first")
    assert together.execute(landed).fetchall() == alone.execute(landed).fetchall()
    for con in (together, alone):
        assert log(con, "product_events") == [
            ("product_events/dt=2024-01-01/a.parquet", 3, 3, 0),
            ("product_events/dt=2024-01-02/b.parquet", 4, 3, 1),
            ("product_events/dt=2024-01-03/c.parquet", 2, 2, 0),
            ("product_events/dt=2024-01-04/d.parquet", 0, 0, 0),
            ("product_events/dt=2024-01-05/e.parquet", 1, 1, 0),
        ]
        assert con.execute("select file, line, reason from ops.quarantine").fetchall() == [
            ("product_events/dt=2024-01-02/b.parquet", 2, "invalid JSON object in column properties")]
        assert con.execute(
            "select _line, event_id, _extra from landed.product_events where _file like '%c.parquet' "
            "order by _line").fetchall() == [(1, "e3_0", '{"extra_number":0}'),
                                             (2, "e3_1", '{"extra_number":1}')]
        balanced(con, "product_events")


def test_jsonl_files_land_together_as_they_would_one_by_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of JSON-lines files of one compression are landed by one read and one insert;
    a run whose files differ in keys or hold a malformed line is landed file by file. Every
    row, line number, quarantine reason, log count and message is what landing the files
    one by one gives."""
    from dagster_project.ingest import engine, readers

    def lines(n: int, tail: bytes = b"") -> bytes:
        return (
            b'{"customer_id":"c%d","created_at":"2024-01-01"}\n' % n      # 1
            + b"\n"                                                      # 2 blank
            + b'{"customer_id":"c%d","created_at":"2024-01-02"}\r\n' % (n + 1)  # 3 CRLF
            + b"   \n"                                                   # 4 blank
            + b'{"customer_id":"c9","created_at":"2024-01-01"} trailing\n'  # 5 invalid JSON
            + b'["c5"]\n'                                                # 6 not an object
            + b'{"Customer_ID ":"c%d","CREATED_AT":"2024-01-01"}' % (n + 2)  # 7 no newline
            + tail
        )

    write(tmp_path, "customers/a.jsonl", lines(10))
    write(tmp_path, "customers/b.jsonl", lines(20))
    write(tmp_path, "customers/c.jsonl.gz", gzip.compress(lines(30)))  # another compression
    write(tmp_path, "customers/d.jsonl", lines(40, b'\n{"customer_id":"c49","created_at":'
                                              b'"2024-01-01","plan":"x"}\n'))  # another key
    write(tmp_path, "customers/e.jsonl", lines(50))
    write(tmp_path, "customers/f.jsonl", lines(60))
    write(tmp_path, "customers/g.jsonl", b'{"customer_id":"c70","created_at":"\xff"}\n'
                                         + lines(71))  # invalid UTF-8 on line 1

    batches: list[list[str]] = []
    landed_together: list[list[str]] = []
    real_batches, real_load = engine._batches, readers.load_jsonl_batch

    def spy_batches(con, files, changed):  # type: ignore[no-untyped-def]
        out = real_batches(con, files, changed)
        batches.extend([f.rel for f in b] for b in out)
        return out

    def spy_load(con, source, files, prints, at):  # type: ignore[no-untyped-def]
        loads = real_load(con, source, files, prints, at)
        landed_together.append([f.rel for f in files])
        return loads

    monkeypatch.setattr(engine, "_batches", spy_batches)
    monkeypatch.setattr(engine, "load_jsonl_batch", spy_load)
    together = duckdb.connect()
    result = ingest_source(together, tmp_path, "customers", now=NOW)
    assert batches == [["a.jsonl", "b.jsonl"], ["c.jsonl.gz"],
                       ["d.jsonl", "e.jsonl", "f.jsonl", "g.jsonl"]]
    assert landed_together == [["a.jsonl", "b.jsonl"]]  # d-g: another key, a bad line

    monkeypatch.setattr(engine, "_batches", lambda con, files, changed: [[f] for f in files])
    alone = duckdb.connect()
    result_alone = ingest_source(alone, tmp_path, "customers", now=NOW)

    # The same rows (their ids differ: a and b are kept as one Parquet file of text rows).
    landed = ("select * exclude (_ingested_at, _rid) from landed.customers "
              "order by _file, _line nulls first")
    assert together.execute(landed).fetchall() == alone.execute(landed).fetchall()
    assert together.execute(
        "select file, rows from landed.parquet_files order by file").fetchall() == [
        ("customers/a.jsonl", 7), ("customers/b.jsonl", 7)]  # the ids of their 7 lines
    assert together.execute("select count(distinct copy) from landed.parquet_files"
                            ).fetchall() == [(1,)]
    assert result.messages == result_alone.messages
    quarantine = "select file, line, reason from ops.quarantine order by file, line"
    assert together.execute(quarantine).fetchall() == alone.execute(quarantine).fetchall()
    for con in (together, alone):
        assert log(con, "customers")[:2] == [("customers/a.jsonl", 5, 3, 2),
                                             ("customers/b.jsonl", 5, 3, 2)]
        assert con.execute(
            "select _line, customer_id, _read_error from landed.customers "
            "where _file = 'customers/b.jsonl' order by _line").fetchall() == [
            (1, "c20", None), (3, "c21", None), (5, None, "invalid JSON line"),
            (6, None, "JSON line is not an object: array"), (7, "c22", None)]
        assert con.execute("select _line from landed.customers where _file = "
                           "'customers/g.jsonl' and _read_error like 'malformed%'"
                           ).fetchall() == [(1,)]
        balanced(con, "customers")
