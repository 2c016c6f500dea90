"""Usage marts in a reporting time zone other than UTC, answers computed by hand.

reporting_timezone = America/New_York (UTC-5 in winter); passive_events left at its
default (none); as_of_date left to its default (the latest day of any landed record, here
the last event's local day). Timestamps land in UTC ('Z').

    signed_up_at 2024-01-10 03:00Z -> local Jan 9  22:00
    e1           2024-01-11 02:00Z -> local Jan 10 21:00
    e2 page_view 2024-01-20 12:00Z -> local Jan 20 07:00  (counts: nothing is passive)
    e3           2024-02-01 03:00Z -> local Jan 31 22:00  (January, not February)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_fixture_warehouse, query, run_dbt

USERS = """
user_id,signed_up_at
nyc,2024-01-10T03:00:00Z
"""

EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
e1,feature_used,2024-01-11T02:00:00Z,nyc,
e2,page_view,2024-01-20T12:00:00Z,nyc,
e3,feature_used,2024-02-01T03:00:00Z,nyc,
"""

SPAN_SQL = "select min(date), max(date), count(*) from marts.product_usage_daily"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("usage_tz") / "warehouse.duckdb"
    build_fixture_warehouse(path, {"users": USERS, "product_events": EVENTS})
    run_dbt(
        path,
        ["build", "--select", "+product_usage_daily +user_cohorts_monthly"],
        {"reporting_timezone": "America/New_York"},
    )
    return path


def test_days_are_local_days(wh: Path) -> None:
    # local Jan 9 (sign-up) .. Jan 31 (last event, the as-of date) = 23 days
    (first, last, n), = query(wh, SPAN_SQL)
    assert (first, last, n) == (date(2024, 1, 9), date(2024, 1, 31), 23)


def test_signup_counts_on_its_local_day(wh: Path) -> None:
    got = query(
        wh,
        "select date, new_users, total_users from marts.product_usage_daily"
        " where date in ('2024-01-09', '2024-01-10') order by date",
    )
    assert got == [(date(2024, 1, 9), 1, 1), (date(2024, 1, 10), 0, 1)]


def test_event_after_utc_midnight_counts_on_the_local_day_before(wh: Path) -> None:
    got = query(
        wh,
        "select date, dau from marts.product_usage_daily"
        " where date in ('2024-01-10', '2024-01-11', '2024-01-20', '2024-01-31') order by date",
    )
    # e1 on local Jan 10 (not 11); e2 (page_view, not passive by default) on Jan 20; e3 on Jan 31
    assert got == [
        (date(2024, 1, 10), 1),
        (date(2024, 1, 11), 0),
        (date(2024, 1, 20), 1),
        (date(2024, 1, 31), 1),
    ]


def test_event_moved_back_across_the_month_end_stays_in_its_local_month(wh: Path) -> None:
    # e3 (Feb 1 UTC) is January locally: the as-of month is January, one cohort cell
    got = query(wh, "select * from marts.user_cohorts_monthly")
    assert got == [(date(2024, 1, 1), 0, 1, 1, 1 / 1)]
