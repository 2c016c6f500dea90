"""Revenue structure and sales marts (docs/METRICS.md, Revenue structure and sales; Unit
economics: observed customer lifetime value) on one small hand-made data set, answers
computed by hand. One dbt build (module fixture), reporting time zone UTC,
as_of_date = 2024-06-30: every row dated after it is cut. The sales reps and quotas seeds
are replaced by the fixture's own (SALES_REPS, SALES_QUOTAS), so the answers do not move
when the demo seeds change.

Trailing 12 months for the tiers: the as-of month and the 11 before it, 2023-07-01 .. 2024-06-30.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import build_marts, query

CUSTOMERS = """
customer_id,created_at,name,segment,region
c1,2023-01-01,One,smb,eu
c2,2023-01-01,Two,enterprise,us
c3,2023-01-01,Three,smb,us
c4,2023-01-01,Four,mid,eu
c5,2023-01-01,Five,smb,
c7,2023-01-01,Seven,,
c8,2023-01-01,Eight,smb,eu
"""
# c6 never landed in customers: segment and region 'unknown'. c8 has not paid anything yet.

INVOICES = """
invoice_id,customer_id,issued_at,amount,currency,revenue_type,status,product
# before the trailing window (2023-06), still revenue of its month
i00,c7,2023-06-15,10,USD,subscription,paid,core
i01,c1,2023-07-15,150,USD,subscription,paid,core
# January 2024: subscription 300 + usage 100 + one_time 100 = 500
i02,c2,2024-01-10,300,USD,subscription,paid,core
i03,c1,2024-01-20,100,USD,usage,paid,analytics
i04,c4,2024-01-25,100,USD,one_time,paid,
# not revenue: open, refunded, void
i05,c2,2024-01-12,999,USD,subscription,open,core
i06,c3,2024-02-06,77,USD,subscription,refunded,core
i07,c5,2024-02-07,55,USD,services,void,services
# February 2024: services 200 + subscription 100 + 30 = 330
i08,c2,2024-02-10,200,USD,services,paid,services
i09,c3,2024-02-05,100,USD,subscription,paid,core
i10,c5,2024-02-15,30,USD,subscription,paid,core
i11,c6,2024-03-01,20,USD,subscription,paid,core
# after as_of_date: not reported yet
i12,c2,2024-07-01,1000,USD,subscription,paid,core
"""

# Churn for the tiers: c4 (100 MRR, 2024-03-15), c6 (20, 2024-05-01), c7 (10, 2024-02-01) in
# the window; c1's churn on 2023-06-15 is before it.
SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,unit_amount,currency
e1,s4,c4,created,2023-08-01,100,USD
e2,s4,c4,canceled,2024-03-15,,USD
e3,s6,c6,created,2024-01-01,20,USD
e4,s6,c6,canceled,2024-05-01,,USD
e5,s7,c7,created,2023-01-01,10,USD
e6,s7,c7,canceled,2024-02-01,,USD
e7,s1,c1,created,2023-01-01,50,USD
e8,s1,c1,canceled,2023-06-15,,USD
e9,s2,c2,created,2023-01-01,300,USD
"""

BOOKINGS = """
booking_id,customer_id,booked_at,contract_months,total_contract_value,currency,sales_rep_id,product,revenue_type,is_new_business
b1,c2,2024-01-15,12,1200,USD,rep_a,core,subscription,true
b2,c2,2024-02-20,24,4800,USD,rep_a,core,subscription,false
b3,c1,2024-03-31 23:00:00,1,100,USD,rep_a,analytics,usage,false
b4,c3,2024-02-01,6,600,USD,rep_b,core,subscription,false
b5,c4,2024-04-10,12,500,USD,,services,services,
b6,c3,2024-07-05,12,9999,USD,rep_b,core,subscription,true
"""

SALES_REPS = """
sales_rep_id,rep_name,team,region
rep_a,Ann,enterprise,eu
rep_b,Bob,smb,us
rep_c,Cid,smb,us
"""

SALES_QUOTAS = """
sales_rep_id,quarter_start,quota_amount
rep_a,2023-10-01,3000
rep_a,2024-01-01,5000
rep_a,2024-04-01,4000
rep_b,2024-01-01,2000
rep_b,2024-04-01,0
rep_c,2024-07-01,1000
"""

SALES_MODELS = (
    "revenue_mix_monthly revenue_mix_by_region_monthly revenue_mix_by_product_monthly "
    "revenue_by_segment_monthly customer_tiers customer_tiers_summary "
    "bookings_vs_revenue_monthly sales_rep_performance_quarterly sales_rep_mix "
    "customer_lifetime_value_by_segment"
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = {"customers": CUSTOMERS, "invoices": INVOICES,
                "subscription_events": SUBSCRIPTION_EVENTS, "bookings": BOOKINGS}
    select = " ".join(f"+{m}" for m in SALES_MODELS.split())
    return build_marts(
        tmp_path_factory, "sales", fixtures,
        ["build", "--indirect-selection", "cautious", "--select", select,
         "--exclude", "sales_reps", "sales_quotas"],
        {"as_of_date": "2024-06-30"},
        seeds={"sales_reps": SALES_REPS, "sales_quotas": SALES_QUOTAS},
    )


# --- Revenue mix -----------------------------------------------------------------------

def test_revenue_mix_shares_of_a_month(wh: Path) -> None:
    # January 2024: subscription 300 (c2), usage 100 (c1), one_time 100 (c4) = 500;
    # services 0 (a grid cell); the open invoice i05 (999) is not revenue.
    rows = query(wh, """select revenue_type, revenue, share, month_revenue
                        from marts.revenue_mix_monthly where month = date '2024-01-01'
                        order by revenue_type""")
    assert rows == [
        ("one_time", 100.0, 0.2, 500.0),       # 100 / 500
        ("services", 0.0, 0.0, 500.0),
        ("subscription", 300.0, 0.6, 500.0),   # 300 / 500
        ("usage", 100.0, 0.2, 500.0),          # 100 / 500
    ]


def test_revenue_mix_excludes_unpaid_and_later_invoices(wh: Path) -> None:
    # February: services 200 + subscription 100 + 30 = 330 (refunded 77 and void 55 left out);
    # the series runs 2023-06 .. 2024-06 (13 months x 4 types), the July invoice is cut.
    rows = query(wh, """select revenue_type, revenue from marts.revenue_mix_monthly
                        where month = date '2024-02-01' and revenue > 0 order by revenue_type""")
    assert rows == [("services", 200.0), ("subscription", 130.0)]
    assert query(wh, "select min(month), max(month), count(*) from marts.revenue_mix_monthly") == [
        (date(2023, 6, 1), date(2024, 6, 1), 52)
    ]


def test_revenue_mix_of_a_month_without_revenue_has_null_shares(wh: Path) -> None:
    # April 2024: no paid invoice -> revenue 0, share NULL (0 / 0).
    rows = query(wh, """select count(*), sum(revenue), count(share)
                        from marts.revenue_mix_monthly where month = date '2024-04-01'""")
    assert rows == [(4, 0.0, 0)]


def test_revenue_mix_by_region(wh: Path) -> None:
    # January: eu = c1 usage 100 + c4 one_time 100 = 200; us = c2 subscription 300.
    rows = query(wh, """select region, revenue_type, revenue, share, share_of_month_revenue
                        from marts.revenue_mix_by_region_monthly
                        where month = date '2024-01-01' and revenue > 0 order by region, revenue_type""")
    assert rows == [
        ("eu", "one_time", 100.0, 0.5, 0.2),      # 100/200, 100/500
        ("eu", "usage", 100.0, 0.5, 0.2),
        ("us", "subscription", 300.0, 1.0, 0.6),  # 300/300, 300/500
    ]


def test_revenue_mix_by_product(wh: Path) -> None:
    # January: core 300 (subscription), analytics 100 (usage), unknown 100 (i04 has no product).
    rows = query(wh, """select product, revenue_type, revenue, share, share_of_month_revenue
                        from marts.revenue_mix_by_product_monthly
                        where month = date '2024-01-01' and revenue > 0 order by product""")
    assert rows == [
        ("analytics", "usage", 100.0, 1.0, 0.2),
        ("core", "subscription", 300.0, 1.0, 0.6),
        ("unknown", "one_time", 100.0, 1.0, 0.2),
    ]


def test_revenue_by_segment_is_continuous_with_zeros(wh: Path) -> None:
    # unknown = c6 (never landed in customers) + c7 (no segment): 2023-06 10 (c7), 2024-03 20 (c6).
    rows = query(wh, """select month, revenue from marts.revenue_by_segment_monthly
                        where segment = 'unknown' order by month""")
    assert len(rows) == 13
    assert [r for r in rows if r[1] != 0] == [(date(2023, 6, 1), 10.0), (date(2024, 3, 1), 20.0)]
    # smb in February: c3 100 + c5 30 = 130 from two paying customers
    assert query(wh, """select revenue, paying_customers from marts.revenue_by_segment_monthly
                        where segment = 'smb' and month = date '2024-02-01'""") == [(130.0, 2)]
    assert query(wh, "select count(distinct segment), count(*) from marts.revenue_by_segment_monthly") == [
        (4, 52)  # enterprise, mid, smb, unknown x 13 months
    ]


# --- Customer tiers ----------------------------------------------------------------------

def test_customer_tiers_with_a_tie_across_the_a_boundary(wh: Path) -> None:
    # Window revenue: c2 500, c1 250 (the 2023-07-15 invoice is inside), c3 100, c4 100, c5 30,
    # c6 20, c7 0 (its only invoice is from 2023-06; it is tiered because it churned in the
    # window). Total 1000. Revenue of the customers with MORE revenue, in rank order:
    #   c2 0 -> A; c1 500 (0.50) -> A;
    #   c3 and c4, tied at 100: 750 each (0.75 < 0.8) -> both A, rank 3 (the pair crosses the
    #   80% line, 750 -> 950, and stays together: equal revenue, equal tier);
    #   c5 950 (0.95: exactly the B line, not < 0.95) -> C; c6 980 -> C; c7 1000 -> C.
    rows = query(wh, """select customer_id, revenue_rank, revenue_t12m, cumulative_share_before,
                               cumulative_share, tier
                        from marts.customer_tiers order by revenue_rank, customer_id""")
    assert rows == [
        ("c2", 1, 500.0, 0.0, 0.5, "A"),
        ("c1", 2, 250.0, 0.5, 0.75, "A"),
        ("c3", 3, 100.0, 0.75, 0.95, "A"),
        ("c4", 3, 100.0, 0.75, 0.95, "A"),
        ("c5", 5, 30.0, 0.95, 0.98, "C"),
        ("c6", 6, 20.0, 0.98, 1.0, "C"),
        ("c7", 7, 0.0, 1.0, 1.0, "C"),
    ]


def test_customer_tiers_window_and_churn(wh: Path) -> None:
    rows = query(wh, """select customer_id, churned_movements, churned_mrr, window_start, window_end
                        from marts.customer_tiers where churned_movements > 0 order by customer_id""")
    assert rows == [
        ("c4", 1, 100.0, date(2023, 7, 1), date(2024, 6, 30)),
        ("c6", 1, 20.0, date(2023, 7, 1), date(2024, 6, 30)),
        ("c7", 1, 10.0, date(2023, 7, 1), date(2024, 6, 30)),
    ]  # c1's churn on 2023-06-15 is before the window


def test_customer_tiers_summary(wh: Path) -> None:
    # A: c2, c1, c3, c4 = 950, churned c4 100; B: nobody; C: c5, c6, c7 = 50, churned c6 20 + c7 10.
    rows = query(wh, """select tier, customers, share_of_customers, revenue, share_of_revenue,
                               churned_customers, churned_mrr
                        from marts.customer_tiers_summary order by tier""")
    assert rows == [
        ("A", 4, 4 / 7, 950.0, 0.95, 1, 100.0),
        ("B", 0, 0 / 7, 0.0, 0.0, 0, 0.0),
        ("C", 3, 3 / 7, 50.0, 0.05, 2, 30.0),
    ]


# --- Bookings and sales reps ---------------------------------------------------------------

def test_bookings_vs_revenue(wh: Path) -> None:
    # Jan: b1 1200 (new business; ACV 1200); revenue 500.
    # Feb: b2 4800 (24 months: ACV 4800 x 12 / 24 = 2400) + b4 600 (6 months: ACV
    #      600 x 12 / max(6, 12) = 600) = 5400, mean ACV 1500; revenue 330.
    # Mar: b3 100 (booked 23:00 UTC on the 31st); revenue c6 20. Apr: b5 500; no revenue.
    rows = query(wh, """select month, bookings_count, bookings_value, new_business_bookings_value,
                               acv, revenue, book_to_bill_ratio
                        from marts.bookings_vs_revenue_monthly
                        where month between date '2024-01-01' and date '2024-04-01' order by month""")
    assert rows == [
        (date(2024, 1, 1), 1, 1200.0, 1200.0, 1200.0, 500.0, 2.4),   # 1200 / 500
        (date(2024, 2, 1), 2, 5400.0, 0.0, 1500.0, 330.0, 5400 / 330),
        (date(2024, 3, 1), 1, 100.0, 0.0, 100.0, 20.0, 5.0),
        (date(2024, 4, 1), 1, 500.0, 0.0, 500.0, 0.0, None),
    ]
    # b6 (2024-07-05) is after as_of_date; the series ends with June.
    assert query(wh, "select max(month), sum(bookings_count) from marts.bookings_vs_revenue_monthly") == [
        (date(2024, 6, 1), 5)
    ]


def test_sales_rep_quota_attainment(wh: Path) -> None:
    # rep_a Q1: 1200 + 4800 + 100 = 6100 against 5000 -> 1.22; Q2: nothing against 4000 -> 0.
    # rep_b Q1: 600 / 2000 = 0.3; Q2: quota 0 -> attainment NULL.
    # b5 has no rep: 'unknown', no quota -> NULL. rep_a's 2023-Q4 quota is before the first
    # booking quarter and rep_c's 2024-Q3 quota after the as-of quarter: no rows.
    rows = query(wh, """select sales_rep_id, rep_name, quarter_start, bookings, quota, attainment,
                               is_complete_quarter
                        from marts.sales_rep_performance_quarterly order by sales_rep_id, quarter_start""")
    assert rows == [
        ("rep_a", "Ann", date(2024, 1, 1), 6100.0, 5000.0, 1.22, True),
        ("rep_a", "Ann", date(2024, 4, 1), 0.0, 4000.0, 0.0, True),
        ("rep_b", "Bob", date(2024, 1, 1), 600.0, 2000.0, 0.3, True),
        ("rep_b", "Bob", date(2024, 4, 1), 0.0, 0.0, None, True),
        ("unknown", "unknown", date(2024, 4, 1), 500.0, None, None, True),
    ]


def test_sales_rep_mix_bands_and_shares(wh: Path) -> None:
    # rep_a: 12 months -> annual, 24 -> multi_year, 1 -> monthly; value shares of 6100.
    rows = query(wh, """select product, contract_band, revenue_type, bookings_count, bookings_value,
                               share_of_rep_bookings, share_of_rep_bookings_count
                        from marts.sales_rep_mix where sales_rep_id = 'rep_a' order by bookings_value""")
    assert rows == [
        ("analytics", "monthly", "usage", 1, 100.0, 100 / 6100, 1 / 3),
        ("core", "annual", "subscription", 1, 1200.0, 1200 / 6100, 1 / 3),
        ("core", "multi_year", "subscription", 1, 4800.0, 4800 / 6100, 1 / 3),
    ]
    assert query(wh, """select sales_rep_id, contract_band, revenue_type, share_of_rep_bookings
                        from marts.sales_rep_mix where sales_rep_id <> 'rep_a' order by 1""") == [
        ("rep_b", "monthly", "subscription", 1.0),   # 6 months < 12
        ("unknown", "annual", "services", 1.0),
    ]


# --- Observed customer lifetime value --------------------------------------------------------

def test_observed_ltv_by_segment(wh: Path) -> None:
    # Paid revenue to date (through 2024-06-30) x gross_margin 0.8, mean per segment over its
    # customers (dim_customers), one that has not paid yet counting 0:
    # enterprise c2 500 -> 400; mid c4 100 -> 80; smb c1 250, c3 100, c5 30, c8 0 -> 380 / 4 x 0.8
    # (380 / 3 x 0.8 over the paying ones); unknown c6 20, c7 10 -> 15 x 0.8 = 12.
    rows = query(wh, """select segment, customers, paying_customers, revenue_to_date,
                               observed_ltv_total, mean_observed_ltv, mean_observed_ltv_paying
                        from marts.customer_lifetime_value_by_segment order by segment""")
    assert [r[:4] for r in rows] == [
        ("enterprise", 1, 1, 500.0), ("mid", 1, 1, 100.0), ("smb", 4, 3, 380.0), ("unknown", 2, 2, 30.0),
    ]
    assert [r[4] for r in rows] == pytest.approx([400.0, 80.0, 304.0, 24.0], abs=1e-9)
    assert [r[5] for r in rows] == pytest.approx([400.0, 80.0, 380 / 4 * 0.8, 12.0], abs=1e-9)
    assert [r[6] for r in rows] == pytest.approx([400.0, 80.0, 380 / 3 * 0.8, 12.0], abs=1e-9)


# --- Buying trend over the mart ---------------------------------------------------------------

def test_buying_trend_table_from_revenue_by_segment(wh: Path) -> None:
    from dagster_project.transform.buying_trend import build_buying_trend

    con = duckdb.connect(str(wh))
    try:
        # 4 segments x (13 complete months 2023-06 .. 2024-06 + 3 forecast months)
        assert build_buying_trend(con, alpha=0.5, horizon=3) == 64
        # unknown: 10 in 2023-06, 0 until 2024-03 (20), then 0: SES halves towards 0 each month.
        # s(2024-02) = 10 / 2^8; s(2024-03) = 0.5 x 20 + 0.5 x s(2024-02); then halved 3 times.
        s_feb = 10 / 2**8
        s_jun = (0.5 * 20 + 0.5 * s_feb) / 2**3
        rows = con.execute("""select month, smoothed, is_forecast, forecast from marts.buying_trend_monthly
                              where segment = 'unknown' and month >= date '2024-06-01' order by month""").fetchall()
    finally:
        con.close()
    assert rows == [
        (date(2024, 6, 1), s_jun, False, None),
        (date(2024, 7, 1), None, True, s_jun),
        (date(2024, 8, 1), None, True, s_jun),
        (date(2024, 9, 1), None, True, s_jun),
    ]
