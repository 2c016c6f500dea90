"""Revenue marts, MRR movements (docs/METRICS.md: Revenue: MRR and its movements), on one small
hand-made data set; every answer is computed by hand in the test. One dbt build (module
fixture), reporting time zone UTC, reporting currency USD, as_of_date left to its default:
the latest day on which a subscription event occurred = 2024-03-25 (the occurred_at of
c_future's cancellation, which takes effect on 2024-04-15, after the as-of date).

One customer per fact (MRR in USD a month):

    c_seats    5 seats x 10 (Jan 10) -> 8 seats (Feb 15) -> 6 seats (Mar 5)
    c_two      s_two_a 100 (Jan 5); s_two_b 40 (Feb 1), canceled Mar 10
    c_react    30 (Jan 3), canceled Feb 10, revived at 35 Mar 20
    c_bounce   20 (Jan 15), canceled Feb 5; a new subscription at 25 Feb 20
    c_sameday  50 created and canceled on Feb 12
    c_annual   1200 a year (Jan 20)
    c_quarter  2 x 90 a quarter less 30 discount a quarter (Feb 1)
    c_eur      100 EUR (Jan 10, EUR = 1.10 USD); rate 1.20 from Feb 1 (no event);
               120 EUR (Mar 10, EUR = 1.25 USD)
    c_future   60 (Jan 25), cancellation effective Apr 15 (occurred Mar 25)
    c_tz       70 effective 2024-01-31T23:30:00-02:00 = 2024-02-01 01:30 UTC
    c_tie      10 (Jan 8); two changes at the same effective_at (Feb 20 10:00): 80 occurred
               Feb 19 (listed first in the file), 60 occurred Feb 18 (listed second)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_fixture_warehouse, build_marts, query, run_dbt

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,billing_period,unit_amount,quantity,discount_amount,currency
e01,s_seats,c_seats,created,2024-01-10,,month,10,5,,USD
e02,s_seats,c_seats,changed,2024-02-15,,month,10,8,,USD
e03,s_seats,c_seats,changed,2024-03-05,,month,10,6,,USD
e04,s_two_a,c_two,created,2024-01-05,,month,100,1,,USD
e05,s_two_b,c_two,created,2024-02-01,,month,40,1,,USD
e06,s_two_b,c_two,canceled,2024-03-10,,,,,,USD
e07,s_react,c_react,created,2024-01-03,,month,30,1,,USD
e08,s_react,c_react,canceled,2024-02-10,,,,,,USD
e09,s_react,c_react,changed,2024-03-20,,month,35,1,,USD
e10,s_bounce_a,c_bounce,created,2024-01-15,,month,20,1,,USD
e11,s_bounce_a,c_bounce,canceled,2024-02-05,,,,,,USD
e12,s_bounce_b,c_bounce,created,2024-02-20,,month,25,1,,USD
e13,s_sameday,c_sameday,created,2024-02-12 09:00:00,,month,50,1,,USD
e14,s_sameday,c_sameday,canceled,2024-02-12 17:00:00,,,,,,USD
e15,s_annual,c_annual,created,2024-01-20,,year,1200,1,,USD
e16,s_quarter,c_quarter,created,2024-02-01,,quarter,90,2,30,USD
e17,s_eur,c_eur,created,2024-01-10,,month,100,1,,EUR
e18,s_eur,c_eur,changed,2024-03-10,,month,120,1,,EUR
e19,s_future,c_future,created,2024-01-25,,month,60,1,,USD
e20,s_future,c_future,canceled,2024-04-15,2024-03-25,,,,,USD
e21,s_tz,c_tz,created,2024-01-31T23:30:00-02:00,,month,70,1,,USD
e22,s_tie,c_tie,created,2024-01-08,,month,10,1,,USD
e23,s_tie,c_tie,changed,2024-02-20 10:00:00,2024-02-19,month,80,1,,USD
e24,s_tie,c_tie,changed,2024-02-20 10:00:00,2024-02-18,month,60,1,,USD
"""

# Landed rates win over seeds/fx_rates.csv on the same day and currency.
FX_RATES = """
rate_date,currency,rate_to_reporting
2024-01-01,EUR,1.10
2024-02-01,EUR,1.20
2024-03-01,EUR,1.25
"""

# Only four customers have a CRM row; the others are attributed to 'unknown'.
CUSTOMERS = """
customer_id,created_at,name,segment,region,acquisition_channel
c_seats,2023-12-01,Seats Co,smb,emea,ads
c_react,2023-12-01,React Co,smb,emea,ads
c_bounce,2023-12-01,Bounce Co,smb,emea,ads
c_two,2023-12-01,Two Co,enterprise,amer,outbound
"""

# Paid invoices for the Pareto tiers (customer_tiers), as of 2024-03-25: the trailing 12 months
# are the as-of month and the 11 before it, 2023-04-01 .. 2024-03-25. t5 (2023-03-30) is
# before them, t6 after the as-of date.
INVOICES = """
invoice_id,customer_id,issued_at,amount,currency,revenue_type,status,product
t1,c_annual,2024-01-20,1500,USD,subscription,paid,core
t2,c_eur,2024-02-10,250,USD,services,paid,core
t3,c_two,2024-03-01,250,USD,subscription,paid,core
t4,c_seats,2023-04-03,150,USD,subscription,paid,core
t5,c_seats,2023-03-30,300,USD,subscription,paid,core
t6,c_quarter,2024-03-26,999,USD,subscription,paid,core
"""

SELECT = "+path:models/marts/revenue +customer_tiers_summary"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = {"subscription_events": SUBSCRIPTION_EVENTS, "fx_rates": FX_RATES,
                "customers": CUSTOMERS, "invoices": INVOICES}
    return build_marts(tmp_path_factory, "revenue_movements", fixtures, ["build", "--select", SELECT])


def movements(wh: Path, customer_id: str) -> list[tuple]:
    return query(
        wh,
        f"""select movement_date, movement_type, amount, mrr_before, mrr_after
            from marts.fct_mrr_movements where customer_id = '{customer_id}'
            order by movement_date""",
    )


def assert_movements(got: list[tuple], want: list[tuple]) -> None:
    assert [row[:2] for row in got] == [row[:2] for row in want]
    for g, w in zip(got, want, strict=True):
        assert g[2:] == pytest.approx(w[2:], abs=1e-6), g


def test_as_of_date_is_the_latest_occurred_day(wh: Path) -> None:
    # e20 occurred 2024-03-25 (effective 2024-04-15); every other event occurred on its
    # effective day, the latest 2024-03-20.
    assert query(wh, "select as_of_date from intermediate.int_as_of_date") == [(date(2024, 3, 25),)]


def test_seat_upgrade_is_expansion_and_downgrade_is_contraction(wh: Path) -> None:
    assert_movements(movements(wh, "c_seats"), [
        (date(2024, 1, 10), "new", 50, 0, 50),  # 5 x 10
        (date(2024, 2, 15), "expansion", 30, 50, 80),  # 8 x 10 - 50
        (date(2024, 3, 5), "contraction", 20, 80, 60),  # 80 - 6 x 10
    ])


def test_second_subscription_is_expansion_and_its_cancellation_contraction(wh: Path) -> None:
    assert_movements(movements(wh, "c_two"), [
        (date(2024, 1, 5), "new", 100, 0, 100),
        (date(2024, 2, 1), "expansion", 40, 100, 140),  # 100 + 40
        (date(2024, 3, 10), "contraction", 40, 140, 100),  # still 100 on s_two_a: not churn
    ])


def test_churn_then_reactivation_in_a_later_month(wh: Path) -> None:
    assert_movements(movements(wh, "c_react"), [
        (date(2024, 1, 3), "new", 30, 0, 30),
        (date(2024, 2, 10), "churn", 30, 30, 0),
        (date(2024, 3, 20), "reactivation", 35, 0, 35),  # active before: not new
    ])


def test_churn_and_return_within_a_month_count_one_churn_one_reactivation(wh: Path) -> None:
    assert_movements(movements(wh, "c_bounce"), [
        (date(2024, 1, 15), "new", 20, 0, 20),
        (date(2024, 2, 5), "churn", 20, 20, 0),
        (date(2024, 2, 20), "reactivation", 25, 0, 25),  # another subscription, same customer
    ])


def test_customer_who_churns_and_returns_within_a_month_is_retained(wh: Path) -> None:
    # c_bounce is active at the end of January and of February. February's start: the 8
    # January customers; at its end c_react is gone: retention 7 / 8.
    got = query(
        wh,
        """select customers_start, churned_customers, reactivated_customers, customer_retention_rate
           from marts.saas_metrics_monthly where month = date '2024-02-01'""",
    )
    assert got == [(8, 2, 1, pytest.approx(7 / 8))]


def test_subscription_created_and_canceled_the_same_day_makes_no_movement(wh: Path) -> None:
    assert movements(wh, "c_sameday") == []
    got = query(wh, "select status, current_mrr from marts.dim_customers where customer_id = 'c_sameday'")
    assert got == [("never_paid", 0.0)]


def test_annual_plan_mrr_is_the_amount_over_12(wh: Path) -> None:
    assert_movements(movements(wh, "c_annual"), [(date(2024, 1, 20), "new", 100, 0, 100)])  # 1200 / 12


def test_quarterly_plan_with_a_discount(wh: Path) -> None:
    # (90 x 2 - 30) / 3 = 150 / 3 = 50
    assert_movements(movements(wh, "c_quarter"), [(date(2024, 2, 1), "new", 50, 0, 50)])


def test_eur_rate_change_without_an_event_makes_no_movement(wh: Path) -> None:
    got = movements(wh, "c_eur")
    assert [row[0] for row in got] == [date(2024, 1, 10), date(2024, 3, 10)]  # nothing on Feb 1
    assert_movements(got[:1], [(date(2024, 1, 10), "new", 110, 0, 110)])  # 100 EUR x 1.10


def test_changed_eur_event_after_a_rate_change_includes_the_rate_change(wh: Path) -> None:
    # 120 EUR x 1.25 = 150 at the new event's rate, minus 100 EUR x 1.10 = 110: +40
    assert_movements(movements(wh, "c_eur")[1:], [(date(2024, 3, 10), "expansion", 40, 110, 150)])


def test_cancellation_effective_after_the_as_of_date_is_not_reported(wh: Path) -> None:
    assert_movements(movements(wh, "c_future"), [(date(2024, 1, 25), "new", 60, 0, 60)])
    got = query(wh, "select status, current_mrr from marts.dim_customers where customer_id = 'c_future'")
    assert got == [("active", 60.0)]


def test_offset_moving_an_event_across_midnight_utc_dates_it_in_utc(wh: Path) -> None:
    # 2024-01-31T23:30:00-02:00 = 2024-02-01 01:30 UTC: new in February, not January
    assert_movements(movements(wh, "c_tz"), [(date(2024, 2, 1), "new", 70, 0, 70)])


def test_tie_on_effective_at_is_broken_by_the_later_occurred_at(wh: Path) -> None:
    # e23 (80, occurred Feb 19) beats e24 (60, occurred Feb 18) though e24 landed later
    assert_movements(movements(wh, "c_tie"), [
        (date(2024, 1, 8), "new", 10, 0, 10),
        (date(2024, 2, 20), "expansion", 70, 10, 80),
    ])


def test_saas_metrics_bridge_per_month(wh: Path) -> None:
    got = query(
        wh,
        """select month, mrr_start, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr,
                  churned_mrr, mrr_end, net_new_mrr, arr_end, customers_start, new_customers,
                  reactivated_customers, churned_customers, customers_end
           from marts.saas_metrics_monthly order by month""",
    )
    want = [
        # Jan: new 100 (two) + 30 (react) + 10 (tie) + 50 (seats) + 110 (eur) + 20 (bounce)
        #      + 100 (annual) + 60 (future) = 480, 8 customers
        (date(2024, 1, 1), 0, 480, 0, 0, 0, 0, 480, 480, 12 * 480, 0, 8, 0, 0, 8),
        # Feb: new 50 (quarter) + 70 (tz) = 120; expansion 40 (two) + 30 (seats) + 70 (tie)
        #      = 140; reactivation 25 (bounce); churn 20 (bounce) + 30 (react) = 50;
        #      end 480 + 120 + 140 + 25 - 50 = 715; customers 8 + 2 + 1 - 2 = 9
        (date(2024, 2, 1), 480, 120, 140, 25, 0, 50, 715, 235, 12 * 715, 8, 2, 1, 2, 9),
        # Mar (through Mar 25): expansion 40 (eur); reactivation 35 (react); contraction
        #      20 (seats) + 40 (two) = 60; end 715 + 40 + 35 - 60 = 730; customers 9 + 1 = 10
        (date(2024, 3, 1), 715, 0, 40, 35, 60, 0, 730, 15, 12 * 730, 9, 0, 1, 0, 10),
    ]
    assert [(r[0], *r[10:]) for r in got] == [(w[0], *w[10:]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[1:10] == pytest.approx(w[1:10], abs=1e-6), g[0]


def test_mrr_movements_monthly_attributes_customers_by_current_attributes(wh: Path) -> None:
    got = query(
        wh,
        """select segment, region, acquisition_channel, mrr_start, new_mrr, expansion_mrr,
                  reactivation_mrr, contraction_mrr, churned_mrr, mrr_end,
                  customers_start, new_customers, reactivated_customers, churned_customers,
                  customers_end
           from marts.mrr_movements_monthly where month = date '2024-02-01'
           order by segment""",
    )
    want = [
        # c_two: 100 -> 140
        ("enterprise", "amer", "outbound", 100, 0, 40, 0, 0, 0, 140, 1, 0, 0, 0, 1),
        # c_seats 50 -> 80, c_react 30 -> 0, c_bounce 20 -> 0 -> 25:
        # start 50 + 30 + 20 = 100, end 80 + 25 = 105
        ("smb", "emea", "ads", 100, 0, 30, 25, 0, 50, 105, 3, 0, 1, 2, 2),
        # no CRM row: annual 100, eur 110, future 60, tie 10 -> 80; new quarter 50, tz 70
        # start 280, end 100 + 110 + 60 + 80 + 50 + 70 = 470
        ("unknown", "unknown", "unknown", 280, 120, 70, 0, 0, 0, 470, 4, 2, 0, 0, 6),
    ]
    assert [(*r[:3], *r[10:]) for r in got] == [(*w[:3], *w[10:]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[3:10] == pytest.approx(w[3:10], abs=1e-6), g[:3]


def test_every_movement_is_listed_once(wh: Path) -> None:
    got = query(
        wh,
        """select movement_type, count(*), sum(amount) from marts.fct_mrr_movements
           group by movement_type order by movement_type""",
    )
    assert got == [
        ("churn", 2, pytest.approx(50)),  # bounce 20, react 30
        ("contraction", 2, pytest.approx(60)),  # seats 20, two 40
        ("expansion", 4, pytest.approx(180)),  # two 40, seats 30, tie 70 (Feb); eur 40 (Mar)
        ("new", 10, pytest.approx(600)),  # 480 in Jan + 120 in Feb
        ("reactivation", 2, pytest.approx(60)),  # bounce 25, react 35
    ]


def test_dim_customers_status_and_first_paid_date(wh: Path) -> None:
    got = query(
        wh,
        """select customer_id, segment, first_paid_date, current_mrr, status, churned_date
           from marts.dim_customers
           where customer_id in ('c_react', 'c_bounce', 'c_tz', 'c_seats') order by customer_id""",
    )
    assert got == [
        ("c_bounce", "smb", date(2024, 1, 15), 25.0, "active", None),
        ("c_react", "smb", date(2024, 1, 3), 35.0, "active", None),
        ("c_seats", "smb", date(2024, 1, 10), 60.0, "active", None),
        ("c_tz", "unknown", date(2024, 2, 1), 70.0, "active", None),
    ]
    assert query(wh, "select count(*) from marts.dim_customers") == [(11,)]


def test_customer_tiers_trailing_months_and_a_tie_across_the_a_line(wh: Path) -> None:
    # Window revenue (2023-04-01 .. 2024-03-25): c_annual 1500, c_eur 250, c_two 250, c_seats
    # 150 (t4; t5 of 2023-03-30 is in the month before the window), c_bounce and c_react 0
    # (tiered for their churn in February). Total 2150: A line 1720, B line 2042.5.
    #   c_annual: 0 before -> A
    #   c_eur, c_two (tied at 250): 1500 before (< 1720) -> both A, rank 2, although the pair
    #     ends at 2000, past the A line
    #   c_seats: 2000 before (>= 1720, < 2042.5) -> B
    #   c_bounce, c_react: 2150 before -> C
    rows = query(wh, """select customer_id, revenue_rank, revenue_t12m, cumulative_share_before,
                               cumulative_share, tier, churned_movements, churned_mrr, window_start
                        from marts.customer_tiers order by revenue_rank, customer_id""")
    start = date(2023, 4, 1)
    assert rows == [
        ("c_annual", 1, 1500.0, 0.0, 1500 / 2150, "A", 0, 0.0, start),
        ("c_eur", 2, 250.0, 1500 / 2150, 2000 / 2150, "A", 0, 0.0, start),
        ("c_two", 2, 250.0, 1500 / 2150, 2000 / 2150, "A", 0, 0.0, start),
        ("c_seats", 4, 150.0, 2000 / 2150, 1.0, "B", 0, 0.0, start),
        ("c_bounce", 5, 0.0, 1.0, 1.0, "C", 1, 20.0, start),
        ("c_react", 5, 0.0, 1.0, 1.0, "C", 1, 30.0, start),
    ]
    summary = query(wh, """select tier, customers, revenue, churned_customers, churned_mrr
                           from marts.customer_tiers_summary order by tier""")
    assert summary == [("A", 3, 2000.0, 0, 0.0), ("B", 1, 150.0, 0, 0.0), ("C", 2, 0.0, 2, 50.0)]


def test_revenue_models_build_on_an_empty_warehouse(tmp_path: Path) -> None:
    # every raw table exists and is empty: the build succeeds, the marts are empty
    path = tmp_path / "warehouse.duckdb"
    build_fixture_warehouse(path, {})
    run_dbt(path, ["build", "--select", SELECT])
    for table in ("saas_metrics_monthly", "mrr_movements_monthly", "customer_cohorts_monthly",
                  "fct_mrr_movements", "dim_customers", "cac_by_channel_monthly", "acv_monthly"):
        assert query(path, f"select count(*) from marts.{table}") == [(0,)], table
