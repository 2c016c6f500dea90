"""Usage marts (docs/METRICS.md, Usage) on one small hand-made product, answers computed by hand.

One dbt build for the whole scenario (module fixture). Reporting time zone UTC,
``passive_events = [page_view]``, ``as_of_date = 2024-03-20``.

Active user-days (page_view is passive; anonymous events never count):

    alice  Jan 10, 11, 12, 13, Feb 15
    bob    Jan 20, 27, Feb 14            (his page_view on Mar 15 is passive)
    carol  Jan 25, 26, 27
    dave   Feb 5, 12, Mar 7, 9, 12       (Mar 12 arrives late, in a later file)
    erin   Mar 2, 8                      (Mar 25 is after as_of_date: cut)
    ghost  Mar 15                        (not in users: still counts)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_fixture_warehouse, build_marts, land_later_file, query, run_dbt

USERS = """
user_id,customer_id,signed_up_at
alice,,2024-01-10 10:00:00
bob,,2024-01-20 09:00:00
carol,,2024-01-25 12:00:00
dave,,2024-02-05 12:00:00
erin,,2024-03-02 08:00:00
"""

EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
# alice: first seen anonymously (a1); her signed_up event carries both ids, so a1 is alice
e01,page_view,2024-01-10 09:50:00,,a1
e02,signed_up,2024-01-10 10:00:00,alice,a1
e03,activated,2024-01-11 10:00:00,alice,
e04,project_created,2024-01-12 10:00:00,alice,
e05,invite_sent,2024-01-13 10:00:00,alice,
e06,feature_used,2024-02-15 10:00:00,alice,
# bob: signed up before his first page_view (out of order); activated 7 days 1 hour after
# sign-up, on the 7th day after his sign-up day
e07,signed_up,2024-01-20 09:00:00,bob,
e08,page_view,2024-01-20 09:05:00,bob,
e09,activated,2024-01-27 10:00:00,bob,
e10,feature_used,2024-02-14 10:00:00,bob,
e11,page_view,2024-03-15 10:00:00,bob,
# carol: skips 'activated', then creates a project and invites
e12,page_view,2024-01-25 11:55:00,carol,
e13,signed_up,2024-01-25 12:00:00,carol,
e14,project_created,2024-01-26 12:00:00,carol,
e15,invite_sent,2024-01-27 12:00:00,carol,
# anonymous visitors who never sign up
e16,page_view,2024-01-15 08:00:00,,a9
e22,page_view,2024-02-02 08:00:00,,a7
e26,page_view,2024-03-15 11:00:00,,a6
e27,feature_used,2024-03-15 11:05:00,,a6
# dave: activated 6 days 23 hours after sign-up; project 31 days after entering the funnel
e17,page_view,2024-02-05 11:50:00,dave,
e18,signed_up,2024-02-05 12:00:00,dave,
e19,activated,2024-02-12 11:00:00,dave,
e20,project_created,2024-03-07 12:00:00,dave,
e21,feature_used,2024-03-09 10:00:00,dave,
# erin, and ghost (missing from users)
e23,signed_up,2024-03-02 08:00:00,erin,
e24,feature_used,2024-03-08 10:00:00,erin,
e25,feature_used,2024-03-15 10:00:00,ghost,
e28,feature_used,2024-03-25 10:00:00,erin,
"""

# Landed a week after it happened, in a later file.
LATE_EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
e29,feature_used,2024-03-12 10:00:00,dave,
"""

VARS = {"passive_events": ["page_view"], "as_of_date": "2024-03-20"}
SPAN_SQL = "select min(date), max(date), count(*) from marts.product_usage_daily"
SELECT = (
    "+product_usage_daily +product_usage_weekly +product_usage_monthly +user_cohorts_monthly +activation_monthly +funnel_monthly"
    " +referral_monthly"
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("usage") / "warehouse.duckdb"
    build_fixture_warehouse(path, {"users": USERS, "product_events": EVENTS})
    land_later_file(path, "product_events", "product_events/dt=2024-03-19/part-0.csv", LATE_EVENTS,
                    ingested_at="2024-03-19 06:00:00")
    run_dbt(path, ["build", "--select", SELECT], VARS)
    return path


def daily(wh: Path, day: str) -> dict:
    cols = "dau, wau, mau, stickiness, new_users, total_users, active_pct_of_base"
    row = query(wh, f"select {cols} from marts.product_usage_daily where date = date '{day}'")
    assert len(row) == 1, day
    return dict(zip([c.strip() for c in cols.split(",")], row[0]))


# --- product_usage_daily -------------------------------------------------------------

def test_daily_calendar_runs_from_first_signup_or_event_through_as_of(wh: Path) -> None:
    # first event e01 on Jan 10 (09:50, before alice's sign-up); as_of_date Mar 20:
    # Jan 10..31 = 22 days, Feb = 29, Mar 1..20 = 20 -> 71 days, no gap
    (first, last, n), = query(wh, SPAN_SQL)
    assert (first, last, n) == (date(2024, 1, 10), date(2024, 3, 20), 71)


def test_mau_keeps_a_user_active_on_the_30th_day_back(wh: Path) -> None:
    # Mar 15: the 30-day window is Feb 15..Mar 15. alice (Feb 15, the 30th day back) is in,
    # bob (Feb 14, the 31st) is out: alice, dave, erin, ghost -> 4
    assert daily(wh, "2024-03-15")["mau"] == 4
    # Mar 14 (Feb 14..Mar 14): bob, alice, dave, erin -> 4
    # Mar 16 (Feb 16..Mar 16): dave, erin, ghost -> 3
    assert daily(wh, "2024-03-14")["mau"] == 4
    assert daily(wh, "2024-03-16")["mau"] == 3


def test_wau_window_is_the_day_and_the_six_before(wh: Path) -> None:
    # Mar 15: Mar 9..15 holds dave (Mar 9, 12) and ghost (15); erin's Mar 8 is the 8th day back -> 2
    assert daily(wh, "2024-03-15")["wau"] == 2
    # Mar 14: Mar 8..14 holds erin (8) and dave -> 2; Mar 20: Mar 14..20 holds ghost only -> 1
    assert daily(wh, "2024-03-14")["wau"] == 2
    assert daily(wh, "2024-03-20")["wau"] == 1


def test_anonymous_and_passive_events_do_not_make_users_active(wh: Path) -> None:
    # Mar 15 events: ghost feature_used (active), bob page_view (passive via vars),
    # a6 page_view + feature_used (anonymous) -> dau 1
    row = daily(wh, "2024-03-15")
    assert row["dau"] == 1
    # stickiness = 1 / 4; base = 5 signed-up users; mau / base = 4 / 5
    assert (row["stickiness"], row["total_users"], row["active_pct_of_base"]) == (1 / 4, 5, 4 / 5)


def test_users_missing_from_users_still_count(wh: Path) -> None:
    sql = "select count(*) from intermediate.int_user_activity_daily where user_id = 'ghost'"
    (n,), = query(wh, sql)
    assert n == 1


def test_late_event_counts_on_the_day_it_happened(wh: Path) -> None:
    # e29 (dave, Mar 12) landed in a later file: dau on Mar 12 is 1
    assert daily(wh, "2024-03-12")["dau"] == 1


def test_new_and_total_users_by_signup_day(wh: Path) -> None:
    assert (daily(wh, "2024-03-02")["new_users"], daily(wh, "2024-03-02")["total_users"]) == (1, 5)
    assert (daily(wh, "2024-03-01")["new_users"], daily(wh, "2024-03-01")["total_users"]) == (0, 4)


def test_events_after_as_of_date_are_cut(wh: Path) -> None:
    # erin's Mar 25 event is after as_of_date: no row for it anywhere
    sql = "select count(*) from marts.product_usage_daily where date > date '2024-03-20'"
    (n,), = query(wh, sql)
    assert n == 0
    (mau,), = query(wh, "select mau from marts.product_usage_daily where date = date '2024-03-20'")
    assert mau == 3  # Feb 20..Mar 20: dave, erin, ghost


# --- weekly and monthly roll-ups -----------------------------------------------------

def test_monthly_rollup(wh: Path) -> None:
    got = query(
        wh,
        """select month, active_users, new_users, users_at_start, total_users,
                  new_users_pct_of_base, base_growth_pct, active_pct_of_base
           from marts.product_usage_monthly order by month""",
    )
    assert got == [
        # Jan: alice, bob, carol active and new; nobody before -> growth NULL
        (date(2024, 1, 1), 3, 3, 0, 3, 3 / 3, None, 3 / 3),
        # Feb: alice (15), bob (14), dave; dave new; 3 at start -> 1/3
        (date(2024, 2, 1), 3, 1, 3, 4, 1 / 4, 1 / 3, 3 / 4),
        # Mar (through the 20th): dave, erin, ghost; erin new; 4 at start -> 1/4
        (date(2024, 3, 1), 3, 1, 4, 5, 1 / 5, 1 / 4, 3 / 5),
    ]


def test_weekly_rollup(wh: Path) -> None:
    # Monday weeks from Jan 8 (holding Jan 10) through Mar 18 (holding Mar 20): 11 weeks
    (n,), = query(wh, "select count(*) from marts.product_usage_weekly")
    assert n == 11
    got = query(
        wh,
        """select week_start, active_users, new_users, users_at_start, total_users, base_growth_pct
           from marts.product_usage_weekly
           where week_start in ('2024-02-26', '2024-03-11', '2024-03-18')
           order by week_start""",
    )
    assert got == [
        (date(2024, 2, 26), 1, 1, 4, 5, 1 / 4),  # erin signs up and is active on Mar 2
        (date(2024, 3, 11), 2, 0, 5, 5, 0 / 5),  # dave (12), ghost (15)
        (date(2024, 3, 18), 0, 0, 5, 5, 0 / 5),  # Mar 18..20: nobody
    ]


# --- user cohorts --------------------------------------------------------------------

def test_user_cohort_triangle_includes_zero_cells(wh: Path) -> None:
    got = query(
        wh,
        """select cohort_month, months_since_start, cohort_users, active_users, user_retention
           from marts.user_cohorts_monthly order by 1, 2""",
    )
    assert got == [
        (date(2024, 1, 1), 0, 3, 3, 3 / 3),  # alice, bob, carol
        (date(2024, 1, 1), 1, 3, 2, 2 / 3),  # alice (Feb 15), bob (Feb 14)
        (date(2024, 1, 1), 2, 3, 0, 0 / 3),  # nobody in March: the zero cell
        (date(2024, 2, 1), 0, 1, 1, 1 / 1),  # dave
        (date(2024, 2, 1), 1, 1, 1, 1 / 1),
        (date(2024, 3, 1), 0, 1, 1, 1 / 1),  # erin (ghost has no cohort)
    ]


# --- activation ----------------------------------------------------------------------

def test_activation_inside_and_outside_the_window(wh: Path) -> None:
    assert query(wh, "select * from marts.activation_monthly order by signup_month") == [
        # alice after 1 day: in; bob on Jan 27, sign-up day Jan 20 + 7 (7 days 1 hour later):
        # in, the window runs through the end of the 7th day; carol never
        (date(2024, 1, 1), 3, 2, 2 / 3),
        # dave after 6 days 23 hours: in
        (date(2024, 2, 1), 1, 1, 1 / 1),
        (date(2024, 3, 1), 1, 0, 0 / 1),
    ]


# --- funnel --------------------------------------------------------------------------

def funnel(wh: Path, month: str) -> list[tuple]:
    return query(
        wh,
        f"""select step_order, users, anonymous_visitors, step_conversion_rate,
                   overall_conversion_rate
            from marts.funnel_monthly where month = date '{month}' order by step_order""",
    )


@pytest.mark.parametrize(("month", "steps"), [
    # January actors: alice (her anonymous page_view a1 is hers: steps 1-5), bob (page_view
    # after signed_up: step 1 only), carol (no 'activated': steps 1-2, her later
    # project_created and invite_sent do not count), a9 (anonymous visitor: step 1)
    pytest.param("2024-01-01", [
        (1, 4, 1, None, 4 / 4),
        (2, 2, 0, 2 / 4, 2 / 4),
        (3, 1, 0, 1 / 2, 1 / 4),
        (4, 1, 0, 1 / 1, 1 / 4),
        (5, 1, 0, 1 / 1, 1 / 4),
    ], id="counts_anonymous_visitors_and_skips_out_of_order_steps"),
    # February: dave steps 1-3; his project_created (Mar 7 12:00) is more than 30 days after
    # he entered (Feb 5 11:50); a7 anonymous at step 1
    pytest.param("2024-02-01", [
        (1, 2, 1, None, 2 / 2),
        (2, 1, 0, 1 / 2, 1 / 2),
        (3, 1, 0, 1 / 1, 1 / 2),
        (4, 0, 0, 0 / 1, 0 / 2),
        (5, 0, 0, None, 0 / 2),  # 0 / 0
    ], id="window_stops_a_step_done_too_late"),
])
def test_funnel_steps_of_a_month(wh: Path, month: str, steps: list[tuple]) -> None:
    assert funnel(wh, month) == steps


def test_funnel_attaches_anonymous_visitors_to_their_first_event_month(wh: Path) -> None:
    # March: a6 (first event Mar 15) at step 1; erin and ghost never viewed a page
    assert [r[:3] for r in funnel(wh, "2024-03-01")] == [
        (1, 1, 1), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0)
    ]


# A funnel of seven steps (orders 10..70, not 1..n) on a product of its own: the model follows
# as many steps as the seed lists (funnel_step_count counts them when it builds), not the five
# of the shipped seed. u1 does s1..s7 on consecutive days; u2 skips s4 (steps 1-3);
# u3 does s7 first, then s1 (step 1 only: s7 before s2 does not count).
SEVEN_STEPS = "step_order,step_name,event_name\n" + "".join(
    f"{10 * k},Step {k},s{k}\n" for k in range(1, 8))
SEVEN_USERS = """
user_id,customer_id,signed_up_at
u1,,2024-01-01 08:00:00
u2,,2024-01-01 08:00:00
u3,,2024-01-01 08:00:00
"""
SEVEN_EVENTS = "event_id,event_name,occurred_at,user_id,anonymous_id\n" + "".join(
    f"a{k},s{k},2024-01-{k + 1:02d} 09:00:00,u1,\n" for k in range(1, 8)) + "".join(
    f"b{k},s{k},2024-01-{k + 1:02d} 09:00:00,u2,\n" for k in (1, 2, 3, 5, 6, 7)) + (
    "c7,s7,2024-01-02 09:00:00,u3,\nc1,s1,2024-01-03 09:00:00,u3,\n")


def test_funnel_follows_every_step_the_seed_lists(tmp_path_factory: pytest.TempPathFactory) -> None:
    wh = build_marts(tmp_path_factory, "seven_steps",
                     {"users": SEVEN_USERS, "product_events": SEVEN_EVENTS},
                     ["build", "--select", "+funnel_monthly", "--exclude", "funnel_steps"],
                     {"as_of_date": "2024-01-31"}, seeds={"funnel_steps": SEVEN_STEPS})
    assert query(wh, """select step_order, users from marts.funnel_monthly
                        where month = date '2024-01-01' order by step_order""") == [
        (10, 3), (20, 2), (30, 2), (40, 1), (50, 1), (60, 1), (70, 1)]


# --- referral ------------------------------------------------------------------------

def test_referral_rate(wh: Path) -> None:
    assert query(wh, "select * from marts.referral_monthly order by month") == [
        (date(2024, 1, 1), 3, 2, 2 / 3),  # invite_sent by alice and carol; 3 active
        (date(2024, 2, 1), 3, 0, 0 / 3),
        (date(2024, 3, 1), 3, 0, 0 / 3),
    ]


# --- empty warehouse -----------------------------------------------------------------

def test_empty_warehouse_builds_empty_marts(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    build_fixture_warehouse(path, {})
    run_dbt(path, ["build", "--select", "+path:models/marts/product"])
    for table in ("product_usage_daily", "user_cohorts_monthly", "funnel_monthly", "nps_monthly",
                  "leads_monthly", "releases_monthly", "new_product_revenue_monthly"):
        assert query(path, f"select count(*) from marts.{table}") == [(0,)], table
