"""Staging keeps one row per key (macros/dedupe.sql): with repeated keys in raw, the first
landed copy (customers: the last landed row); without any, every row as it is (the window is
then skipped, which must not change the result). Hand-made rows, answers by hand.

    subscription_events: e1 in fixture.csv line 2 and again in later.csv line 2 -> one row,
        from fixture.csv:2; e2 once.
    product_events: p1 in fixture.csv line 2 and later.csv line 2 -> one row from
        fixture.csv:2; p2, p3 once.
    customers (last landed row wins): c1 in fixture.csv (smb) and later.csv (enterprise) ->
        enterprise; c2 once.
    invoices: no repeated id -> both rows, and the SQL that ran has no window.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_harness import build_fixture_warehouse, land_later_file, query, run_dbt

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,plan_id,billing_period,unit_amount,quantity,currency
e1,s1,c1,created,2024-01-10,growth_m,month,99,1,USD
e2,s2,c2,created,2024-01-12,growth_m,month,99,1,USD
"""
SUBSCRIPTION_EVENTS_AGAIN = """
event_id,subscription_id,customer_id,event_type,effective_at,plan_id,billing_period,unit_amount,quantity,currency
e1,s1,c1,created,2024-01-10,growth_m,month,99,1,USD
"""
PRODUCT_EVENTS = """
event_id,event_name,occurred_at,user_id
p1,login,2024-01-10 08:00:00,u1
p2,login,2024-01-11 08:00:00,u1
"""
PRODUCT_EVENTS_AGAIN = """
event_id,event_name,occurred_at,user_id
p1,login,2024-01-10 08:00:00,u1
p3,login,2024-01-12 08:00:00,u2
"""
CUSTOMERS = """
customer_id,created_at,segment
c1,2024-01-01,smb
c2,2024-01-01,smb
"""
CUSTOMERS_LATER = """
customer_id,created_at,segment
c1,2024-01-01,enterprise
"""
INVOICES = """
invoice_id,customer_id,issued_at,amount,currency
i1,c1,2024-01-10,99,USD
i2,c2,2024-01-12,99,USD
"""


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dedupe") / "warehouse.duckdb"
    build_fixture_warehouse(path, {"subscription_events": SUBSCRIPTION_EVENTS,
                                   "product_events": PRODUCT_EVENTS,
                                   "customers": CUSTOMERS, "invoices": INVOICES})
    later = "2000-01-02"
    land_later_file(path, "subscription_events", "subscription_events/later.csv",
                    SUBSCRIPTION_EVENTS_AGAIN, later)
    land_later_file(path, "product_events", "product_events/later.csv", PRODUCT_EVENTS_AGAIN,
                    later)
    land_later_file(path, "customers", "customers/later.csv", CUSTOMERS_LATER, later)
    run_dbt(path, ["build", "--select", "stg_billing__subscription_events", "stg_product__events",
                   "stg_crm__customers", "stg_billing__invoices", "stg_reference__fx_rates"])
    return path


def test_a_repeated_subscription_event_counts_once_from_its_first_copy(wh: Path) -> None:
    assert query(wh, """select event_id, _file, _line from staging.stg_billing__subscription_events
                        order by event_id""") == [
        ("e1", "subscription_events/fixture.csv", 2),
        ("e2", "subscription_events/fixture.csv", 3),
    ]


def test_a_repeated_product_event_counts_once_from_its_first_copy(wh: Path) -> None:
    assert query(wh, "select event_id, _file, _line from staging.stg_product__events "
                     "order by event_id") == [
        ("p1", "product_events/fixture.csv", 2),
        ("p2", "product_events/fixture.csv", 3),
        ("p3", "product_events/later.csv", 3),
    ]


def test_the_last_landed_customer_row_wins(wh: Path) -> None:
    assert query(wh, "select customer_id, segment from staging.stg_crm__customers "
                     "order by customer_id") == [("c1", "enterprise"), ("c2", "smb")]


def test_without_repeated_keys_every_row_stays_and_no_window_runs(wh: Path) -> None:
    assert query(wh, "select invoice_id, _file, _line from staging.stg_billing__invoices "
                     "order by invoice_id") == [("i1", "invoices/fixture.csv", 2),
                                                ("i2", "invoices/fixture.csv", 3)]
    # The SQL that ran: the window only where raw holds a repeated key.
    ran = wh.parent / "dbt_target" / "run" / "product_metrics" / "models" / "staging"
    assert "row_number()" not in (ran / "stg_billing__invoices.sql").read_text()
    assert "row_number()" in (ran / "stg_billing__subscription_events.sql").read_text()
    assert "row_number()" in (ran / "stg_product__events.sql").read_text()
