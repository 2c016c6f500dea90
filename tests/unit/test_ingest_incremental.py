"""Incremental derive: landing files night after night gives exactly what one run over
all of them gives (raw rows, quarantine rows and reasons, log counts), and each night
re-derives only the new files' rows and the key groups they share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES
from dagster_project.ingest import check_invariants, ingest_source
from dagster_project.ingest.changes import changes_table

EVENTS = "event_id,event_name,occurred_at,user_id,anonymous_id\n"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def state(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, list[tuple]]:
    cols = ", ".join(f'"{c}"' for c in SOURCES[source].column_names)
    return {
        "raw": con.execute(f"select {cols}, _file, _line from raw.{source} "
                           "order by _file, _line").fetchall(),
        "quarantine": con.execute(
            "select file, line, reason, raw_record from ops.quarantine where source = ? "
            "order by file, line", [source]).fetchall(),
        "log": con.execute(
            "select file, landed_rows, accepted_rows, quarantined_rows from ops.ingestion_log "
            "where source = ? order by file", [source]).fetchall(),
    }


def one_run(landing: Path, source: str) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    result = ingest_source(con, landing, source)
    assert result.derive_mode == "full"
    return state(con, source)


NIGHTS = [
    # night 1: e1..e3 accepted, a row without any id quarantined
    {"product_events/dt=2024-01-02/a.csv": EVENTS + "e1,view,2024-01-01 10:00,u1,\n"
        "e2,view,2024-01-02 09:00,u2,\ne3,click,2024-01-02 11:00,u1,\nbad,view,2024-01-02,,\n"},
    # night 2: e1 again with other content (both copies now quarantined, the earlier one
    # retroactively), an identical copy of e2 in a file that sorts *before* night 1's,
    # and e4, an event of Jan 1 arriving late
    {"product_events/dt=2024-01-01/late.csv": EVENTS + "e2,view,2024-01-02 09:00,u2,\n",
     "product_events/dt=2024-01-03/b.csv": EVENTS + "e1,view,2024-01-01 10:00,u9,\n"
        "e4,click,2024-01-01 23:00,u3,\ne5,view,2024-01-03 08:00,,anon1\n"},
    # night 3: a third copy of e1, a malformed timestamp, nothing else touched
    {"product_events/dt=2024-01-04/c.csv": EVENTS + "e1,view,2024-01-01 10:00,u1,\n"
        "e6,view,not-a-time,u4,\n"},
]


def test_night_after_night_equals_one_run_over_every_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    con = duckdb.connect()
    for night, files in enumerate(NIGHTS, start=1):
        for name, text in files.items():
            write(landing, name, text)
        result = ingest_source(con, landing, "product_events",
                               now=datetime(2024, 1, 1 + night, 3))
        assert result.derive_mode == ("full" if night == 1 else "incremental")
        check_invariants(con, "product_events")
        assert state(con, "product_events") == one_run(landing, "product_events")


def test_a_night_re_derives_only_the_new_files_and_the_keys_they_share(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    con = duckdb.connect()
    derived = []
    for night, files in enumerate(NIGHTS, start=1):
        for name, text in files.items():
            write(landing, name, text)
        derived.append(ingest_source(con, landing, "product_events").derived_rows)
    # night 2: its 4 rows + e1 and e2 of night 1; night 3: its 2 rows + the 2 earlier e1
    assert derived == [4, 6, 4]
    batches = con.execute("select batch_id, mode, files, rows from ops.ingestion_batches "
                          "where source = 'product_events' order by batch_id").fetchall()
    assert batches == [(1, "full", 1, 4), (2, "incremental", 3, 6), (3, "incremental", 3, 4)]
    touched = con.execute(
        f"select batch_id, event_id, user_id, cast(occurred_at as varchar) "
        f"from {changes_table('product_events')} order by all").fetchall()
    assert touched == [
        (2, "e1", "u1", "2024-01-01 10:00:00"), (2, "e1", "u9", "2024-01-01 10:00:00"),
        (2, "e2", "u2", "2024-01-02 09:00:00"), (2, "e2", "u2", "2024-01-02 09:00:00"),
        (2, "e4", "u3", "2024-01-01 23:00:00"), (2, "e5", None, "2024-01-03 08:00:00"),
        (3, "e1", "u1", "2024-01-01 10:00:00"), (3, "e1", "u1", "2024-01-01 10:00:00"),
        (3, "e1", "u9", "2024-01-01 10:00:00"), (3, "e6", "u4", None),
    ]


def test_a_replaced_file_derives_the_whole_source_again(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    con = duckdb.connect()
    write(landing, "product_events/a.csv", EVENTS + "e1,view,2024-01-01,u1,\n")
    ingest_source(con, landing, "product_events")
    write(landing, "product_events/a.csv", EVENTS + "e2,view,2024-01-01,u1,\n")
    assert ingest_source(con, landing, "product_events").derive_mode == "full"
    assert con.execute(f"select count(*) from {changes_table('product_events')}").fetchall() == [(0,)]
    assert state(con, "product_events") == one_run(landing, "product_events")


def test_other_sources_night_after_night(tmp_path: Path) -> None:
    """A last-wins source, a source without a key and one keyed by a date."""
    landing = tmp_path / "landing"
    nights = [
        {"customers/1.csv": "customer_id,created_at,name\nc1,2024-01-01,A\nc2,2024-01-01,B\n",
         "marketing_spend/1.csv": "spend_date,channel,amount,currency\n2024-01-01,ads,5,USD\n",
         "fx_rates/1.csv": "rate_date,currency,rate_to_reporting\n2024-01-01,EUR,1.1\n"},
        {"customers/0.csv": "customer_id,created_at,name\nc1,2024-01-01,A0\n",
         "marketing_spend/2.csv": "spend_date,channel,amount,currency\n2024-01-01,ads,5,USD\n",
         "fx_rates/2.csv": "rate_date,currency,rate_to_reporting\n2024-01-01,EUR,1.2\n"
            "2024-01-02,EUR,1.1\n"},
    ]
    con = duckdb.connect()
    for files in nights:
        for name, text in files.items():
            write(landing, name, text)
        for source in ("customers", "marketing_spend", "fx_rates"):
            ingest_source(con, landing, source)
    for source in ("customers", "marketing_spend", "fx_rates"):
        assert state(con, source) == one_run(landing, source), source
    # the two fx rates of 2024-01-01 conflict: both quarantined, the earlier one too
    assert [r[:2] for r in state(con, "fx_rates")["quarantine"]] == [
        ("fx_rates/1.csv", 2), ("fx_rates/2.csv", 2)]


def test_an_empty_or_header_only_file_landing_later_counts_zero_not_null(tmp_path: Path) -> None:
    header = "invoice_id,customer_id,issued_at,amount,currency\n"
    write(tmp_path, "invoices/a.csv", header + "i1,c1,2024-01-01,5,USD\n")
    con = duckdb.connect()
    ingest_source(con, tmp_path, "invoices")
    write(tmp_path, "invoices/b_header_only.csv", header)
    write(tmp_path, "invoices/c_empty.csv", "")
    result = ingest_source(con, tmp_path, "invoices")
    assert result.derive_mode == "incremental"
    assert state(con, "invoices")["log"] == [
        ("invoices/a.csv", 1, 1, 0),
        ("invoices/b_header_only.csv", 0, 0, 0),
        ("invoices/c_empty.csv", 0, 0, 0),
    ]
    check_invariants(con, "invoices")
