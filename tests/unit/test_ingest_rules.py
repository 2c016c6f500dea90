"""Ingestion rules on the hand-made landing set in fixtures/ingest/landing: one test per
kind of bad row, with the exact quarantine rows it must produce."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES
from dagster_project.ingest import (
    IngestionInvariantError,
    check_invariants,
    ingest_all,
    ingest_source,
    prepare_warehouse,
)

FIXTURE_LANDING = Path(__file__).parent / "fixtures" / "ingest" / "landing"
NOW = datetime(2024, 3, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def fixture_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ingest_all(con, FIXTURE_LANDING, now=NOW)
    yield con
    con.close()


def quarantine(con: duckdb.DuckDBPyConnection, source: str, like: str = "%") -> list[tuple]:
    return con.execute(
        "select file, line, reason from ops.quarantine where source = ? and reason like ? "
        "order by file, line",
        [source, like],
    ).fetchall()


def raw_rows(con: duckdb.DuckDBPyConnection, source: str, columns: str) -> list[tuple]:
    return con.execute(f"select {columns} from raw.{source} order by _file, _line").fetchall()


def assert_balanced(con: duckdb.DuckDBPyConnection) -> None:
    """landed = accepted + quarantined for every logged file, from the tables themselves."""
    landed = {r[0] for r in con.execute(
        "select view_name from duckdb_views() where schema_name = 'landed'").fetchall()}
    assert landed
    for source in landed:
        check_invariants(con, source)
    unbalanced = con.execute(
        "select * from ops.ingestion_log where landed_rows <> accepted_rows + quarantined_rows "
        "or accepted_rows is null"
    ).fetchall()
    assert unbalanced == []


def test_unparsable_timestamp(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "customers", "unparsable timestamp%") == [
        ("customers/dt=2024-01-01/customers.csv", 3,
         "unparsable timestamp in column created_at"),
    ]


def test_missing_required_value(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "customers", "missing required value%") == [
        ("customers/dt=2024-01-01/customers.csv", 4, "missing required value in column customer_id"),
    ]


def test_missing_required_column_quarantines_the_whole_file(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "customers", "missing required column%") == [
        ("customers/dt=2024-01-03/no_created_at.csv", 2, "missing required column created_at"),
        ("customers/dt=2024-01-03/no_created_at.csv", 3, "missing required column created_at"),
    ]
    log = fixture_warehouse.execute(
        "select landed_rows, accepted_rows, quarantined_rows from ops.ingestion_log "
        "where file = 'customers/dt=2024-01-03/no_created_at.csv'"
    ).fetchall()
    assert log == [(2, 0, 2)]


def test_negative_amount(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "invoices", "negative amount%") == [
        ("invoices/invoices.csv", 3, "negative amount in column amount"),
    ]


def test_unknown_enum_value(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "invoices", "unknown value%") == [
        ("invoices/invoices.csv", 4,
         "unknown value in column status (allowed: paid, open, void, refunded)"),
    ]


def test_duplicate_id_with_different_content_quarantines_every_copy(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "invoices", "duplicate%") == [
        ("invoices/invoices.csv", 5,
         "duplicate invoice_id with different content (also in invoices/invoices.csv:6)"),
        ("invoices/invoices.csv", 6,
         "duplicate invoice_id with different content (also in invoices/invoices.csv:5)"),
    ]
    assert raw_rows(fixture_warehouse, "invoices", "invoice_id") == [("i1",), ("i5",), ("i5",)]


def test_identical_duplicate_after_parsing_is_accepted(fixture_warehouse) -> None:
    # i5 twice: '20' vs '20.0', 'usd' vs 'USD', empty status vs 'paid' (the default), a date
    # vs the same instant with 'Z': the same parsed content, so both are kept (staging dedupes).
    rows = raw_rows(fixture_warehouse, "invoices",
                    "invoice_id, issued_at, amount, currency, status, _line")
    assert [r for r in rows if r[0] == "i5"] == [
        ("i5", datetime(2024, 1, 14), 20.0, "USD", "paid", 7),
        ("i5", datetime(2024, 1, 14), 20.0, "USD", "paid", 8),
    ]


def test_customers_later_row_is_accepted_not_quarantined(fixture_warehouse) -> None:
    rows = raw_rows(fixture_warehouse, "customers", "customer_id, name, segment, _file")
    assert [r for r in rows if r[0] == "c1"] == [
        ("c1", "Acme", "smb", "customers/dt=2024-01-01/customers.csv"),
        ("c1", "Acme GmbH", "mid_market", "customers/dt=2024-01-02/customers.csv"),
    ]
    assert quarantine(fixture_warehouse, "customers", "duplicate%") == []


def test_subscription_naming_another_customer(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "subscription_events", "the subscription_id %") == [
        ("subscription_events/events.csv", 3,
         "the subscription_id of this row belongs to another customer_id (first seen in subscription_events/events.csv:2)"),
    ]


def test_missing_unit_amount_on_created(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "subscription_events", "missing%") == [
        ("subscription_events/events.csv", 4,
         "missing required value in column unit_amount (required on created events)"),
    ]
    # A canceled event needs no unit_amount.
    assert raw_rows(fixture_warehouse, "subscription_events", "event_id") == [("se1",), ("se4",)]


def test_invalid_json_line(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "product_events", "invalid JSON line") == [
        ("product_events/events.jsonl", 3, "invalid JSON line"),
    ]
    raw_record = fixture_warehouse.execute(
        "select raw_record from ops.quarantine where reason = 'invalid JSON line'"
    ).fetchall()
    assert raw_record == [(('{"_raw_line":"{\\"event_id\\":\\"pe3\\",\\"event_name\\":\\"click\\",'
                           '\\"occurred_at\\":"}'),)]


def test_unparsable_properties_json(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "product_events", "invalid JSON object%") == [
        ("product_events/events.jsonl", 2, "invalid JSON object in column properties"),
    ]


def test_event_without_user_or_anonymous_id(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "product_events", "missing%") == [
        ("product_events/events.jsonl", 6, "missing required value: one of user_id or anonymous_id"),
    ]


def test_csv_line_with_too_many_columns(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "bookings") == [
        ("bookings/bookings.csv", 3,
         "malformed CSV line: too many columns (Expected Number of Columns: 10 Found: 11)"),
    ]
    raw = fixture_warehouse.execute(
        "select raw_record from ops.quarantine where source = 'bookings'"
    ).fetchall()
    assert raw == [('{"_raw_line":"b2,c3,2024-01-03,12,2400,USD,r3,core,subscription,true,EXTRA"}',)]
    assert raw_rows(fixture_warehouse, "bookings", "booking_id, _line") == [("b1", 2), ("b3", 4)]


def test_score_out_of_range(fixture_warehouse) -> None:
    assert quarantine(fixture_warehouse, "survey_responses") == [
        ("survey_responses/responses.csv", 3, "score out of range for nps (0-10) in column score"),
        ("survey_responses/responses.csv", 4, "score out of range for csat (1-5) in column score"),
    ]


def test_nothing_else_is_quarantined_and_every_file_balances(fixture_warehouse) -> None:
    counts = fixture_warehouse.execute(
        "select source, count(*) from ops.quarantine group by source order by source"
    ).fetchall()
    assert counts == [("bookings", 1), ("customers", 4), ("invoices", 4), ("product_events", 3),
                      ("subscription_events", 2), ("survey_responses", 2)]
    log = fixture_warehouse.execute(
        "select file, landed_rows, accepted_rows, quarantined_rows, ingested_at "
        "from ops.ingestion_log order by file"
    ).fetchall()
    assert log == [
        ("bookings/bookings.csv", 3, 2, 1, NOW),
        ("customers/dt=2024-01-01/customers.csv", 4, 2, 2, NOW),
        ("customers/dt=2024-01-02/customers.csv", 1, 1, 0, NOW),
        ("customers/dt=2024-01-03/no_created_at.csv", 2, 0, 2, NOW),
        ("invoices/invoices.csv", 7, 3, 4, NOW),
        ("product_events/events.jsonl", 5, 2, 3, NOW),
        ("subscription_events/events.csv", 4, 2, 2, NOW),
        ("survey_responses/responses.csv", 4, 2, 2, NOW),
    ]
    assert_balanced(fixture_warehouse)


def test_offsets_are_converted_to_utc(fixture_warehouse) -> None:
    rows = raw_rows(fixture_warehouse, "customers", "customer_id, created_at")
    assert rows[0] == ("c1", datetime(2024, 1, 6, 1, 30))  # 2024-01-05T23:30:00-02:00
    assert ("c3", datetime(2024, 1, 3, 10, 0)) in rows  # ...Z
    events = raw_rows(fixture_warehouse, "product_events", "event_id, occurred_at")
    assert ("pe4", datetime(2024, 1, 1, 9, 3)) in events  # +01:00


def test_unknown_columns_are_kept_in_landed_extra(fixture_warehouse) -> None:
    extra = fixture_warehouse.execute(
        "select event_id, _extra from landed.product_events where _extra is not null"
    ).fetchall()
    assert extra == [("pe4", '{"Extra_Key":7}')]


def test_raw_tables_have_exactly_the_typed_contract_columns(fixture_warehouse) -> None:
    from dagster_project.contract import create_typed_table_sql

    probe = duckdb.connect()
    probe.execute("create schema raw")
    for source in SOURCES:
        probe.execute(create_typed_table_sql(source, f"raw.{source}"))
        expected = probe.execute(f"describe raw.{source}").fetchall()
        actual = fixture_warehouse.execute(f"describe raw.{source}").fetchall()
        assert [c[:2] for c in actual] == [c[:2] for c in expected], source


# --- rules on small inline landing sets --------------------------------------------------


def land(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


SUB_HEADER = "event_id,subscription_id,customer_id,event_type,effective_at,unit_amount,currency\n"


def test_conflicting_duplicates_go_before_ownership(tmp_path: Path) -> None:
    """se1 lands twice naming different customers: both copies are conflicting duplicates
    (rule 2). Ownership (rule 3) is then taken from the first *kept* row, se2 (c2), so se2
    and se3 are accepted and se4 (c1) is quarantined."""
    landing = land(tmp_path, {
        "subscription_events/a.csv": SUB_HEADER + "se1,s1,c1,created,2024-01-01,10,USD\n",
        "subscription_events/b.csv": SUB_HEADER
        + "se1,s1,c2,created,2024-01-01,10,USD\n"
        + "se2,s1,c2,changed,2024-02-01,20,USD\n"
        + "se3,s1,c2,changed,2024-03-01,30,USD\n"
        + "se4,s1,c1,changed,2024-04-01,40,USD\n",
    })
    con = duckdb.connect()
    ingest_source(con, landing, "subscription_events")
    assert quarantine(con, "subscription_events") == [
        ("subscription_events/a.csv", 2,
         "duplicate event_id with different content (also in subscription_events/b.csv:2)"),
        ("subscription_events/b.csv", 2,
         "duplicate event_id with different content (also in subscription_events/a.csv:2)"),
        ("subscription_events/b.csv", 5,
         "the subscription_id of this row belongs to another customer_id (first seen in subscription_events/b.csv:3)"),
    ]
    assert raw_rows(con, "subscription_events", "event_id") == [("se2",), ("se3",)]
    assert_balanced(con)


def test_ownership_is_decided_by_file_order_not_by_effective_date(tmp_path: Path) -> None:
    landing = land(tmp_path, {
        "subscription_events/dt=2024-01-01/a.csv": SUB_HEADER
        + "se1,s1,c1,created,2024-05-01,10,USD\n",
        "subscription_events/dt=2024-01-02/a.csv": SUB_HEADER
        + "se2,s1,c2,created,2024-01-01,10,USD\n",
    })
    con = duckdb.connect()
    ingest_source(con, landing, "subscription_events")
    assert [r[2] for r in quarantine(con, "subscription_events")] == [
        "the subscription_id of this row belongs to another customer_id (first seen in subscription_events/dt=2024-01-01/a.csv:2)",
    ]


def test_duplicate_with_three_copies_names_a_differing_copy(tmp_path: Path) -> None:
    header = "invoice_id,customer_id,issued_at,amount,currency\n"
    landing = land(tmp_path, {
        "invoices/a.csv": header
        + "i1,c1,2024-01-01,10,USD\n"
        + "i1,c1,2024-01-01,10,USD\n"
        + "i1,c1,2024-01-01,11,USD\n",
    })
    con = duckdb.connect()
    ingest_source(con, landing, "invoices")
    assert [(r[1], r[2]) for r in quarantine(con, "invoices")] == [
        (2, "duplicate invoice_id with different content (also in invoices/a.csv:4)"),
        (3, "duplicate invoice_id with different content (also in invoices/a.csv:4)"),
        (4, "duplicate invoice_id with different content (also in invoices/a.csv:2)"),
    ]


def test_composite_key_duplicates_in_fx_rates(tmp_path: Path) -> None:
    header = "rate_date,currency,rate_to_reporting\n"
    landing = land(tmp_path, {
        "fx_rates/a.csv": header + "2024-01-01,EUR,1.10\n2024-01-01,EUR,1.2\n2024-01-01,GBP,1.3\n",
    })
    con = duckdb.connect()
    ingest_source(con, landing, "fx_rates")
    assert [r[2] for r in quarantine(con, "fx_rates")] == [
        ("duplicate rate_date, currency with different content "
        "(also in fx_rates/a.csv:3)"),
        ("duplicate rate_date, currency with different content "
        "(also in fx_rates/a.csv:2)"),
    ]


def test_marketing_spend_is_never_deduplicated(tmp_path: Path) -> None:
    header = "spend_date,channel,amount,currency\n"
    landing = land(tmp_path, {
        "marketing_spend/a.csv": header + "2024-01-01,ads,100,USD\n2024-01-01,ads,100,USD\n",
        "marketing_spend/b.csv": header + "2024-01-01,ads,150,USD\n",
    })
    con = duckdb.connect()
    result = ingest_source(con, landing, "marketing_spend")
    assert (result.accepted_rows, result.quarantined_rows) == (3, 0)
    assert raw_rows(con, "marketing_spend", "amount") == [(100.0,), (100.0,), (150.0,)]


def test_json_formatting_differences_are_not_content_differences(tmp_path: Path) -> None:
    header = "event_id,event_name,occurred_at,user_id,properties\n"
    landing = land(tmp_path, {
        "product_events/a.csv": header + 'e1,click,2024-01-01,u1,"{""a"": 1}"\n',
        "product_events/b.jsonl": '{"event_id":"e1","event_name":"click",'
        '"occurred_at":"2024-01-01","user_id":"u1","properties":{"a":1}}\n',
    })
    con = duckdb.connect()
    result = ingest_source(con, landing, "product_events")
    assert (result.accepted_rows, result.quarantined_rows) == (2, 0)


def test_invariant_check_catches_a_broken_table(tmp_path: Path) -> None:
    con = duckdb.connect()
    ingest_source(con, FIXTURE_LANDING, "invoices")
    check_invariants(con, "invoices")
    con.execute("delete from raw.invoices where invoice_id = 'i1'")
    with pytest.raises(IngestionInvariantError, match="invoices/invoices.csv"):
        check_invariants(con, "invoices")


def test_a_rerun_after_the_rules_change_rederives_without_new_files(tmp_path: Path) -> None:
    """raw.<source> carries a fingerprint of the derivation SQL: when it differs (new
    contract or rules) the next run rebuilds the source even with no new file."""
    con = duckdb.connect()
    prepare_warehouse(con)
    first = ingest_source(con, FIXTURE_LANDING, "invoices")
    assert first.derived
    assert not ingest_source(con, FIXTURE_LANDING, "invoices").derived
    con.execute("comment on table raw.invoices is 'derived:old'")
    again = ingest_source(con, FIXTURE_LANDING, "invoices")
    assert again.derived and again.quarantined_rows == first.quarantined_rows
    # A crash between loading a file and deriving leaves NULL counts: the next run derives.
    con.execute("update ops.ingestion_log set accepted_rows = null, quarantined_rows = null")
    assert ingest_source(con, FIXTURE_LANDING, "invoices").derived
    assert_balanced(con)


def test_amounts_and_counts_beyond_the_contracts_bounds_are_quarantined(tmp_path: Path) -> None:
    """An amount the marts cannot sum exactly used to pass ingestion and fail the build later
    in dbt (a DECIMAL overflow in customer_tiers, visible only in the full log)."""
    header = "event_id,subscription_id,customer_id,event_type,effective_at,unit_amount,quantity,currency\n"
    landing = land(tmp_path, {
        "subscription_events/a.csv": header
        + "se1,s1,c1,created,2024-01-01,99999999999999999999.99,1,USD\n"
        + "se2,s2,c2,created,2024-01-01,1000000000000,1,USD\n"  # exactly the bound: fine
        + "se3,s3,c3,created,2024-01-01,10,2000000000,USD\n"
        + "se4,s4,c4,created,2024-01-01,-1e13,1,USD\n",
    })
    con = duckdb.connect()
    ingest_source(con, landing, "subscription_events")
    assert quarantine(con, "subscription_events") == [
        ("subscription_events/a.csv", 2,
         "value out of range in column unit_amount (at most 1,000,000,000,000)"),
        ("subscription_events/a.csv", 4,
         "value out of range in column quantity (at most 1,000,000,000)"),
        ("subscription_events/a.csv", 5,
         ("negative amount in column unit_amount; "
         "value out of range in column unit_amount (at most 1,000,000,000,000)")),
    ]
    assert raw_rows(con, "subscription_events", "event_id, unit_amount") == [("se2", 1e12)]
    assert_balanced(con)


def test_line_numbers_do_not_depend_on_the_connections_row_order_setting(fixture_warehouse) -> None:
    # Readers number lines in arrival order (which needs preserve_insertion_order on); the
    # full derive turns it off for its own statements and back on. A connection that had it
    # off lands the same rows, lines and quarantine as the default one, and keeps it on.
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")
        ingest_all(con, FIXTURE_LANDING, now=NOW)
        assert con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
        query = ("select source, file, line, reason from ops.quarantine "
                 "order by source, file, line, reason")
        assert con.execute(query).fetchall() == fixture_warehouse.execute(query).fetchall()
        for source in SOURCES:
            lines = f"select _file, _line from raw.{source} order by _file, _line"
            assert con.execute(lines).fetchall() == fixture_warehouse.execute(lines).fetchall()
    finally:
        con.close()
