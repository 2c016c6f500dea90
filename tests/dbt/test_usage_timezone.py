"""Usage marts in a reporting time zone other than UTC, answers computed by hand.

reporting_timezone = America/New_York (UTC-5 in winter); passive_events left at its
default (none); as_of_date left to its default (the latest day of any landed record, here
the last event's local day). Timestamps land in UTC ('Z').

    signed_up_at 2024-01-10 03:00Z -> local Jan 9  22:00
    e1           2024-01-11 02:00Z -> local Jan 10 21:00
    e2 page_view 2024-01-20 12:00Z -> local Jan 20 07:00  (counts: nothing is passive)
    e3           2024-02-01 03:00Z -> local Jan 31 22:00  (January, not February)

Activation and funnel windows count reporting days (docs/metrics_notes_product.md), here
with funnel_window_days = 3:

    user  signed up (local)  activated (UTC -> local)        day   activated?
    nyc   Jan 9  22:00       2024-01-17 04:30Z -> Jan 16 23:30  +7  yes (7 days 1.5 h later)
    tyo   Jan 12 07:00       2024-01-20 03:00Z -> Jan 19 22:00  +7  yes (UTC day +8)
    late  Jan 13 10:00       2024-01-21 05:00Z -> Jan 21 00:00  +8  no  (00:00 is the day it names)

    fun (not in users): page_view 2024-01-22 04:00Z -> Jan 21 23:00, enters the funnel
                        signed_up 2024-01-25 04:30Z -> Jan 24 23:30, day +3: in (3 days 0.5 h)
                        activated 2024-01-25 05:30Z -> Jan 25 00:30, day +4: out
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

USERS = """
user_id,signed_up_at
nyc,2024-01-10T03:00:00Z
tyo,2024-01-12T12:00:00Z
late,2024-01-13T15:00:00Z
"""

EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
e1,feature_used,2024-01-11T02:00:00Z,nyc,
e2,page_view,2024-01-20T12:00:00Z,nyc,
e3,feature_used,2024-02-01T03:00:00Z,nyc,
e4,activated,2024-01-17T04:30:00Z,nyc,
e5,activated,2024-01-20T03:00:00Z,tyo,
e6,activated,2024-01-21T05:00:00Z,late,
e7,page_view,2024-01-22T04:00:00Z,fun,
e8,signed_up,2024-01-25T04:30:00Z,fun,
e9,activated,2024-01-25T05:30:00Z,fun,
"""

SPAN_SQL = "select min(date), max(date), count(*) from marts.product_usage_daily"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marts(
        tmp_path_factory, "usage_tz", {"users": USERS, "product_events": EVENTS},
        ["build", "--select",
         "+product_usage_daily +user_cohorts_monthly +activation_monthly +funnel_monthly"],
        {"reporting_timezone": "America/New_York", "funnel_window_days": 3},
    )


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
    # (nyc, tyo and late signed up and were active in January)
    got = query(wh, "select * from marts.user_cohorts_monthly")
    assert got == [(date(2024, 1, 1), 0, 3, 3, 3 / 3)]


def test_activation_window_counts_local_days_through_the_seventh(wh: Path) -> None:
    # nyc and tyo activated on their sign-up day + 7 (local), late on day + 8 at 00:00
    got = query(wh, "select * from marts.activation_monthly")
    assert got == [(date(2024, 1, 1), 3, 2, 2 / 3)]


def test_funnel_window_counts_local_days_from_the_day_of_entry(wh: Path) -> None:
    # step 1: nyc (e2) and fun (e7); step 2: fun only (day +3; nyc never signed up in the
    # funnel); step 3: fun's activation is on day +4, outside the 3-day window
    got = query(
        wh,
        """select step_order, users, step_conversion_rate, overall_conversion_rate
           from marts.funnel_monthly where month = date '2024-01-01' order by step_order""",
    )
    assert got == [
        (1, 2, None, 2 / 2),
        (2, 1, 1 / 2, 1 / 2),
        (3, 0, 0 / 1, 0 / 2),
        (4, 0, None, 0 / 2),  # 0 / 0
        (5, 0, None, 0 / 2),
    ]
