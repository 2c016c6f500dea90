"""A few contract-breaking rows per source, for demonstrating the quarantine.

Written to ``<source>/zz_bad_rows.csv``, which sorts after every good file, with an extra
``note`` column saying what is wrong (unknown columns are kept raw and ignored). Each
"conflicting duplicate" reuses the id of the first good row of the source, so that row
is quarantined along with its impostor, as the contract says.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES
from dagster_project.generate.sources import World

FILE_NAME = "zz_bad_rows.csv"

_READERS = {
    ".csv": "read_csv({p}, all_varchar = true)",
    ".csv.gz": "read_csv({p}, all_varchar = true)",
    ".jsonl": "read_json({p}, format = 'newline_delimited')",
    ".ndjson": "read_json({p}, format = 'newline_delimited')",
    ".jsonl.gz": "read_json({p}, format = 'newline_delimited')",
    ".parquet": "read_parquet({p})",
}


def _first_value(con: duckdb.DuckDBPyConnection, folder: Path, column: str) -> str | None:
    """``column`` of the first row of the first good file (path order) in ``folder``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != FILE_NAME)
    for path in files:
        suffix = next((s for s in sorted(_READERS, key=len, reverse=True)
                       if path.name.endswith(s)), None)
        if suffix is None:
            continue
        reader = _READERS[suffix].format(p="'" + str(path).replace("'", "''") + "'")
        rows = con.execute(f'select cast("{column}" as varchar) from {reader} limit 1').fetchall()
        if rows:
            return rows[0][0]
    return None


def _rows(w: World, first: dict[str, str | None]) -> dict[str, list[dict[str, str]]]:
    day = w.tl.last_day.isoformat()
    ts = f"{day}T12:00:00Z"
    dup = {k: v or f"{k}_missing" for k, v in first.items()}
    return {
        "customers": [
            {"note": "unparsable timestamp", "customer_id": "bad_cus_1", "created_at": "31/12/2024",
             "name": "Bad Date Ltd", "segment": "smb", "region": "na"},
            {"note": "missing required customer_id", "customer_id": "", "created_at": ts,
             "name": "Nameless Inc", "segment": "smb"},
        ],
        "users": [
            {"note": "unparsable timestamp", "user_id": "bad_usr_1", "signed_up_at": "yesterday"},
            {"note": "missing required user_id", "user_id": "", "signed_up_at": ts},
            {"note": "conflicting duplicate id", "user_id": dup["users"], "signed_up_at": ts,
             "email": "someone.else@example.com"},
        ],
        "product_events": [
            {"note": "unparsable timestamp", "event_id": "bad_ev_1", "event_name": "page_view",
             "occurred_at": "2024-13-45 25:61:00", "user_id": "usr_1"},
            {"note": "neither user_id nor anonymous_id", "event_id": "bad_ev_2",
             "event_name": "page_view", "occurred_at": ts},
            {"note": "properties is not a JSON object", "event_id": "bad_ev_3",
             "event_name": "page_view", "occurred_at": ts, "user_id": "usr_1",
             "properties": "[1, 2, 3]"},
            {"note": "conflicting duplicate id", "event_id": dup["product_events"],
             "event_name": "report_viewed", "occurred_at": ts, "user_id": "usr_1"},
        ],
        "subscription_events": [
            {"note": "unparsable timestamp", "event_id": "bad_sev_1", "subscription_id": "bad_sub_1",
             "customer_id": "cus_000001", "event_type": "created", "effective_at": "soon",
             "unit_amount": "29", "currency": "USD"},
            {"note": "missing required customer_id", "event_id": "bad_sev_2",
             "subscription_id": "bad_sub_2", "customer_id": "", "event_type": "created",
             "effective_at": ts, "unit_amount": "29", "currency": "USD"},
            {"note": "negative amount", "event_id": "bad_sev_3", "subscription_id": "bad_sub_3",
             "customer_id": "cus_000001", "event_type": "created", "effective_at": ts,
             "unit_amount": "-29", "currency": "USD"},
            {"note": "unknown event_type", "event_id": "bad_sev_4", "subscription_id": "bad_sub_4",
             "customer_id": "cus_000001", "event_type": "paused", "effective_at": ts,
             "currency": "USD"},
            {"note": "created without unit_amount", "event_id": "bad_sev_5",
             "subscription_id": "bad_sub_5", "customer_id": "cus_000001", "event_type": "created",
             "effective_at": ts, "currency": "USD"},
            {"note": "subscription of another customer", "event_id": "bad_sev_6",
             "subscription_id": "sub_0000001", "customer_id": "cus_999999", "event_type": "changed",
             "effective_at": ts, "unit_amount": "29", "currency": "USD"},
            {"note": "conflicting duplicate id", "event_id": dup["subscription_events"],
             "subscription_id": "bad_sub_7", "customer_id": "cus_000001", "event_type": "created",
             "effective_at": ts, "unit_amount": "1", "currency": "USD"},
        ],
        "invoices": [
            {"note": "negative amount", "invoice_id": "bad_inv_1", "customer_id": "cus_000001",
             "issued_at": ts, "amount": "-100", "currency": "USD"},
            {"note": "unknown status", "invoice_id": "bad_inv_2", "customer_id": "cus_000001",
             "issued_at": ts, "amount": "100", "currency": "USD", "status": "pending"},
            {"note": "unparsable timestamp", "invoice_id": "bad_inv_3", "customer_id": "cus_000001",
             "issued_at": "Feb 30", "amount": "100", "currency": "USD"},
            {"note": "missing required currency", "invoice_id": "bad_inv_4",
             "customer_id": "cus_000001", "issued_at": ts, "amount": "100", "currency": ""},
            {"note": "conflicting duplicate id", "invoice_id": dup["invoices"],
             "customer_id": "cus_000001", "issued_at": ts, "amount": "1.23", "currency": "USD"},
        ],
        "bookings": [
            {"note": "contract_months is 0", "booking_id": "bad_bkg_1", "customer_id": "cus_000001",
             "booked_at": ts, "contract_months": "0", "total_contract_value": "100",
             "currency": "USD"},
            {"note": "negative amount", "booking_id": "bad_bkg_2", "customer_id": "cus_000001",
             "booked_at": ts, "contract_months": "12", "total_contract_value": "-100",
             "currency": "USD"},
            {"note": "unknown revenue_type", "booking_id": "bad_bkg_3", "customer_id": "cus_000001",
             "booked_at": ts, "contract_months": "12", "total_contract_value": "100",
             "currency": "USD", "revenue_type": "barter"},
            {"note": "conflicting duplicate id", "booking_id": dup["bookings"],
             "customer_id": "cus_000001", "booked_at": ts, "contract_months": "1",
             "total_contract_value": "1", "currency": "USD"},
        ],
        "marketing_spend": [
            {"note": "negative amount", "spend_date": day, "channel": "paid_search",
             "amount": "-50", "currency": "USD"},
            {"note": "unknown cost_type", "spend_date": day, "channel": "social", "amount": "50",
             "currency": "USD", "cost_type": "capex"},
            {"note": "unparsable date", "spend_date": "last monday", "channel": "social",
             "amount": "50", "currency": "USD"},
            {"note": "missing required channel", "spend_date": day, "channel": "", "amount": "50",
             "currency": "USD"},
        ],
        "leads": [
            {"note": "unparsable timestamp", "lead_id": "bad_lead_1", "created_at": "2024-02-30"},
            {"note": "unparsable boolean", "lead_id": "bad_lead_2", "created_at": ts,
             "is_qualified": "maybe"},
            {"note": "missing required lead_id", "lead_id": "", "created_at": ts},
            {"note": "conflicting duplicate id", "lead_id": dup["leads"], "created_at": ts,
             "channel": "events"},
        ],
        "survey_responses": [
            {"note": "nps score out of range", "response_id": "bad_rsp_1", "survey": "nps",
             "responded_at": ts, "score": "11"},
            {"note": "csat score out of range", "response_id": "bad_rsp_2", "survey": "csat",
             "responded_at": ts, "score": "0"},
            {"note": "unknown survey", "response_id": "bad_rsp_3", "survey": "ces",
             "responded_at": ts, "score": "3"},
            {"note": "unparsable timestamp", "response_id": "bad_rsp_4", "survey": "nps",
             "responded_at": "noon", "score": "9"},
            {"note": "conflicting duplicate id", "response_id": dup["survey_responses"],
             "survey": "nps", "responded_at": ts, "score": "0"},
        ],
        "releases": [
            {"note": "missing required name", "release_id": "bad_rel_1", "name": "",
             "planned_at": day},
            {"note": "unknown kind", "release_id": "bad_rel_2", "name": "Mystery", "kind": "epic"},
            {"note": "unparsable timestamp", "release_id": "bad_rel_3", "name": "Someday",
             "released_at": "Q3"},
            {"note": "conflicting duplicate id", "release_id": dup["releases"],
             "name": "Renamed release"},
        ],
    }


def write_bad_rows(con: duckdb.DuckDBPyConnection, w: World, out_dir: Path) -> dict[str, int]:
    """Write ``<source>/zz_bad_rows.csv`` for every generated source; rows per source."""
    first = {
        source: _first_value(con, out_dir / source, SOURCES[source].key[0])
        for source in SOURCES
        if SOURCES[source].key and (out_dir / source).is_dir()
    }
    counts: dict[str, int] = {}
    for source, rows in _rows(w, first).items():
        columns = [*SOURCES[source].column_names, "note"]
        path = out_dir / source / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        counts[source] = len(rows)
    return counts
