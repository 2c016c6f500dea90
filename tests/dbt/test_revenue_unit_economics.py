"""Revenue marts, unit economics, retention, CAC, ACV and customer cohorts (docs/METRICS.md:
Churn and retention, Unit economics, Customer cohorts) on one small hand-made data set,
answers computed by hand. One dbt build (module fixture), reporting time zone UTC,
as_of_date = 2024-05-31 (rows dated later are cut), ltv_churn_window_months = 3,
gross_margin = 0.8 (default).

Customer MRR (USD a month) at the end of each month:

             Jan   Feb   Mar   Apr   May
    a (ads)  100   150   150   150     0   new Jan 10, +50 Feb 10, churn May 20
    b (ads)   50    30     0     0    60   new Jan 12, -20 Feb 15, churn Mar 5, back May 25
    c (seo)    -   200   200   120   120   new Feb 3, -80 Apr 10
    d (seo)    -     -    80    80    80   new Mar 8
    total    150   380   430   350   260
    active     2     3     3     3     3
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,unit_amount,currency
e01,s_a,a,created,2024-01-10,,100,USD
e02,s_b,b,created,2024-01-12,,50,USD
e03,s_c,c,created,2024-02-03,,200,USD
e04,s_a,a,changed,2024-02-10,,150,USD
e05,s_b,b,changed,2024-02-15,,30,USD
e06,s_b,b,canceled,2024-03-05,,,USD
e07,s_d,d,created,2024-03-08,,80,USD
e08,s_c,c,changed,2024-04-10,,120,USD
e09,s_a,a,canceled,2024-05-20,,,USD
e10,s_b,b,changed,2024-05-25,,60,USD
# after the as-of date: not reported
e11,s_d,d,canceled,2024-06-03,,,USD
"""

CUSTOMERS = """
customer_id,created_at,name,segment,region,acquisition_channel
a,2024-01-01,A,smb,emea,ads
b,2024-01-01,B,smb,emea,ads
c,2024-01-01,C,enterprise,amer,seo
d,2024-01-01,D,enterprise,amer,seo
"""

MARKETING_SPEND = """
spend_date,channel,amount,currency,cost_type,motion
2024-01-05,ads,300,USD,marketing,new_business
2024-01-20,seo,100,USD,marketing,brand
2024-02-10,seo,500,USD,sales,new_business
2024-03-15,ads,160,USD,marketing,new_business
2024-05-02,ads,50,USD,marketing,expansion
2024-06-02,ads,999,USD,marketing,new_business
"""

INVOICES = """
invoice_id,customer_id,issued_at,amount,currency,status
i1,a,2024-01-10,100,USD,paid
i2,a,2024-02-10,150,USD,paid
i3,a,2024-03-10,150,USD,open
i4,b,2024-01-12,50,USD,paid
i5,a,2024-06-10,150,USD,paid
"""

BOOKINGS = """
booking_id,customer_id,booked_at,contract_months,total_contract_value,currency
k1,a,2024-01-10,12,1200,USD
k2,b,2024-01-12,36,3600,USD
k3,c,2024-01-20,6,500,USD
k4,d,2024-03-08,24,2400,USD
k5,d,2024-06-01,12,999,USD
"""

GROSS_MARGIN = 0.8


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = {"subscription_events": SUBSCRIPTION_EVENTS, "customers": CUSTOMERS,
                "marketing_spend": MARKETING_SPEND, "invoices": INVOICES, "bookings": BOOKINGS}
    return build_marts(
        tmp_path_factory, "revenue_unit_economics", fixtures,
        ["build", "--select", "+path:models/marts/revenue"],
        {"as_of_date": "2024-05-31", "ltv_churn_window_months": 3},
    )


def metric(wh: Path, column: str) -> list:
    return [r[0] for r in query(wh, f"select {column} from marts.saas_metrics_monthly order by month")]


def approx(values: list) -> list:
    return [v if v is None else pytest.approx(v, abs=1e-9) for v in values]


def test_months_run_from_the_first_event_through_the_as_of_month(wh: Path) -> None:
    assert metric(wh, "month") == [date(2024, m, 1) for m in range(1, 6)]


def test_bridge(wh: Path) -> None:
    assert metric(wh, "mrr_start") == approx([0, 150, 380, 430, 350])
    assert metric(wh, "new_mrr") == approx([150, 200, 80, 0, 0])  # a + b; c; d
    assert metric(wh, "expansion_mrr") == approx([0, 50, 0, 0, 0])  # a 100 -> 150
    assert metric(wh, "contraction_mrr") == approx([0, 20, 0, 80, 0])  # b 50 -> 30; c 200 -> 120
    assert metric(wh, "churned_mrr") == approx([0, 0, 30, 0, 150])  # b; a
    assert metric(wh, "reactivation_mrr") == approx([0, 0, 0, 0, 60])  # b
    assert metric(wh, "mrr_end") == approx([150, 380, 430, 350, 260])
    assert metric(wh, "customers_end") == [2, 3, 3, 3, 3]


def test_arpa_is_mrr_end_per_active_customer(wh: Path) -> None:
    assert metric(wh, "arpa") == approx([150 / 2, 380 / 3, 430 / 3, 350 / 3, 260 / 3])


def test_logo_churn_rate(wh: Path) -> None:
    # churned / customers_start: Jan has no customers at its start -> NULL
    assert metric(wh, "logo_churn_rate") == approx([None, 0 / 2, 1 / 3, 0 / 3, 1 / 3])


def test_customer_retention_rate(wh: Path) -> None:
    # Feb: a, b kept; Mar: a, c of a, b, c; Apr: a, c, d; May: c, d of a, c, d
    assert metric(wh, "customer_retention_rate") == approx([None, 2 / 2, 2 / 3, 3 / 3, 2 / 3])


def test_mrr_churn_rates(wh: Path) -> None:
    # gross = (churned + contraction) / mrr_start
    assert metric(wh, "gross_mrr_churn_rate") == approx([None, 20 / 150, 30 / 380, 80 / 430, 150 / 350])
    # net = (churned + contraction - expansion - reactivation) / mrr_start
    assert metric(wh, "net_mrr_churn_rate") == approx(
        [None, (20 - 50) / 150, 30 / 380, 80 / 430, (150 - 60) / 350]
    )


def test_net_revenue_retention(wh: Path) -> None:
    # customers active at the start, their MRR at the end / mrr_start
    # Feb: a 150 + b 30 = 180 of 150; Mar: a 150 + b 0 + c 200 = 350 of 380;
    # Apr: a 150 + c 120 + d 80 = 350 of 430; May: a 0 + c 120 + d 80 = 200 of 350
    # (b's return in May does not count: b was not active at May's start)
    assert metric(wh, "net_revenue_retention") == approx(
        [None, 180 / 150, 350 / 380, 350 / 430, 200 / 350]
    )


def test_gross_revenue_retention_caps_each_customer_at_its_start_mrr(wh: Path) -> None:
    # Feb: min(150, 100) + min(30, 50) = 130 of 150; later months have no expansion
    assert metric(wh, "gross_revenue_retention") == approx(
        [None, 130 / 150, 350 / 380, 350 / 430, 200 / 350]
    )


def test_quick_ratio(wh: Path) -> None:
    # (new + expansion + reactivation) / (churned + contraction); Jan: no losses -> NULL
    assert metric(wh, "quick_ratio") == approx([None, (200 + 50) / 20, 80 / 30, 0 / 80, 60 / 150])


def test_ltv_uses_the_mean_non_null_logo_churn_over_the_trailing_window(wh: Path) -> None:
    # window of 3 months including this one; logo churn: Jan NULL, Feb 0, Mar 1/3, Apr 0, May 1/3
    # Jan: mean NULL -> NULL; Feb: mean(0) = 0 -> NULL
    # Mar: mean(0, 1/3) = 1/6 (Jan's NULL skipped): 430/3 x 0.8 / (1/6) = 688
    # Apr: mean(0, 1/3, 0) = 1/9: 350/3 x 0.8 x 9 = 840
    # May: mean(1/3, 0, 1/3) = 2/9: 260/3 x 0.8 x 9/2 = 312
    assert metric(wh, "ltv") == approx([None, None, 688, 840, 312])


def test_spend_is_cut_at_the_as_of_date_and_zero_in_a_month_without_spend(wh: Path) -> None:
    # Jan 300 + 100; Feb 500; Mar 160; Apr none; May 50 (the Jun 2 row is after as_of_date)
    assert metric(wh, "sales_marketing_spend") == approx([400, 500, 160, 0, 50])


def test_cac(wh: Path) -> None:
    # spend / new customers: Jan 400 / 2; Feb 500 / 1; Mar 160 / 1; Apr, May: no new customer
    assert metric(wh, "cac") == approx([200, 500, 160, None, None])
    # new_business spend only: Jan 300 / 2 (seo's 100 is brand)
    assert metric(wh, "cac_new_business") == approx([150, 500, 160, None, None])


def test_ltv_to_cac(wh: Path) -> None:
    assert metric(wh, "ltv_to_cac") == approx([None, None, 688 / 160, None, None])


def test_cac_payback_months(wh: Path) -> None:
    # cac / ((new_mrr / new_customers) x 0.8): Jan 200 / (75 x 0.8); Feb 500 / (200 x 0.8);
    # Mar 160 / (80 x 0.8)
    assert metric(wh, "cac_payback_months") == approx(
        [200 / (75 * GROSS_MARGIN), 500 / (200 * GROSS_MARGIN), 160 / (80 * GROSS_MARGIN), None, None]
    )


def test_cac_by_channel(wh: Path) -> None:
    got = query(wh, "select month, channel, spend, new_customers, cac from marts.cac_by_channel_monthly"
                    " order by month, channel")
    assert got == [
        (date(2024, 1, 1), "ads", 300.0, 2, 150.0),  # a, b
        (date(2024, 1, 1), "seo", 100.0, 0, None),
        (date(2024, 2, 1), "seo", 500.0, 1, 500.0),  # c
        (date(2024, 3, 1), "ads", 160.0, 0, None),
        (date(2024, 3, 1), "seo", 0.0, 1, 0.0),  # d, no seo spend in March
        (date(2024, 5, 1), "ads", 50.0, 0, None),
    ]


def test_acv_monthly(wh: Path) -> None:
    got = query(wh, "select month, bookings, total_contract_value, acv from marts.acv_monthly order by month")
    assert got == [
        # ACVs: 1200 x 12 / 12 = 1200; 3600 x 12 / 36 = 1200; 500 x 12 / max(6, 12) = 500
        (date(2024, 1, 1), 3, 5300.0, pytest.approx((1200 + 1200 + 500) / 3)),
        (date(2024, 2, 1), 0, 0.0, None),
        (date(2024, 3, 1), 1, 2400.0, pytest.approx(2400 * 12 / 24)),
        (date(2024, 4, 1), 0, 0.0, None),
        (date(2024, 5, 1), 0, 0.0, None),  # k5 is booked after the as-of date
    ]


def test_customer_cohort_triangle(wh: Path) -> None:
    got = query(
        wh,
        """select cohort_month, months_since_start, cohort_customers, active_customers,
                  logo_retention, cohort_start_mrr, mrr, revenue_retention
           from marts.customer_cohorts_monthly order by cohort_month, months_since_start""",
    )
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    want = [
        # January cohort a, b: start MRR 100 + 50 = 150
        (jan, 0, 2, 2, 1.0, 150, 150, 1.0),
        (jan, 1, 2, 2, 1.0, 150, 180, 180 / 150),  # a 150 + b 30
        (jan, 2, 2, 1, 0.5, 150, 150, 1.0),  # a
        (jan, 3, 2, 1, 0.5, 150, 150, 1.0),  # a
        (jan, 4, 2, 1, 0.5, 150, 60, 60 / 150),  # b came back; a churned
        # February cohort c
        (feb, 0, 1, 1, 1.0, 200, 200, 1.0),
        (feb, 1, 1, 1, 1.0, 200, 200, 1.0),
        (feb, 2, 1, 1, 1.0, 200, 120, 120 / 200),
        (feb, 3, 1, 1, 1.0, 200, 120, 120 / 200),
        # March cohort d (its June cancellation is after the as-of date)
        (mar, 0, 1, 1, 1.0, 80, 80, 1.0),
        (mar, 1, 1, 1, 1.0, 80, 80, 1.0),
        (mar, 2, 1, 1, 1.0, 80, 80, 1.0),
    ]
    assert [r[:4] for r in got] == [w[:4] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[4:] == pytest.approx(w[4:], abs=1e-9), g[:2]


def test_dim_customers_revenue_and_status(wh: Path) -> None:
    got = query(
        wh,
        """select customer_id, current_mrr, lifetime_revenue, observed_ltv, status, churned_date
           from marts.dim_customers order by customer_id""",
    )
    assert got == [
        # paid invoices through the as-of date: a 100 + 150 (i3 is open, i5 after as_of)
        ("a", 0.0, 250.0, pytest.approx(250 * GROSS_MARGIN), "churned", date(2024, 5, 20)),
        ("b", 60.0, 50.0, pytest.approx(50 * GROSS_MARGIN), "active", None),
        ("c", 120.0, 0.0, 0.0, "active", None),
        ("d", 80.0, 0.0, 0.0, "active", None),
    ]
