"""MRR by plan (docs/METRICS.md, MRR by plan) on a small hand-made data set; every answer is
computed by hand. Reporting currency USD, time zone UTC; as_of_date is the latest day with a
subscription event, 2024-03-20, so March closes at the end of March 20.

    s_up     (c_one) growth_m 99 (Jan 10) -> business_m 299 (Feb 15) -> canceled (Mar 20)
    s_day    (c_one) starter_m 29 and growth_m 99 on Jan 31: the day's last state counts
    s_short  (c_two) no plan, 50 (Feb 5), canceled Feb 20: never active at a month's end
    s_custom (c_two) custom_plan (not in seeds/plans.csv) 10 x 3 seats (Mar 1)

Month ends: Jan 31, Feb 29, Mar 20 (the as-of date).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,plan_id,billing_period,unit_amount,quantity,currency
e1,s_up,c_one,created,2024-01-10,growth_m,month,99,1,USD
e2,s_up,c_one,changed,2024-02-15,business_m,month,299,1,USD
e3,s_up,c_one,canceled,2024-03-20,,,,,USD
e4,s_day,c_one,created,2024-01-31 09:00:00,starter_m,month,29,1,USD
e5,s_day,c_one,changed,2024-01-31 15:00:00,growth_m,month,99,1,USD
e6,s_short,c_two,created,2024-02-05,,month,50,1,USD
e7,s_short,c_two,canceled,2024-02-20,,,,,USD
e8,s_custom,c_two,created,2024-03-01,custom_plan,month,10,3,USD
"""


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marts(tmp_path_factory, "mrr_by_plan", {"subscription_events": SUBSCRIPTION_EVENTS},
                       ["build", "--select", "+mrr_by_plan_monthly +saas_metrics_monthly"])


def test_each_subscription_counts_under_its_plan_at_the_months_end(wh: Path) -> None:
    rows = query(wh, """select month, plan_id, plan_name, tier, product, mrr_end,
                               active_subscriptions
                        from marts.mrr_by_plan_monthly order by plan_id, month""")
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    business = ("business_m", "Business monthly", "business", "core")
    growth = ("growth_m", "Growth monthly", "growth", "core")
    custom = ("custom_plan", "unknown", "unknown", "unknown")
    assert rows == [
        # s_up on business_m from Feb 15: February's end only (canceled at the end of Mar 20)
        (jan, *business, 0.0, 0), (feb, *business, 299.0, 1), (mar, *business, 0.0, 0),
        # not in the plans seed: 'unknown' name, tier and product; 10 x 3 seats from Mar 1
        (jan, *custom, 0.0, 0), (feb, *custom, 0.0, 0), (mar, *custom, 30.0, 1),
        # January: s_up and s_day (its day's last state); February and March: s_day
        (jan, *growth, 198.0, 2), (feb, *growth, 99.0, 1), (mar, *growth, 99.0, 1),
    ]
    # starter_m (s_day's earlier state of Jan 31) and the plan-less s_short never held MRR at
    # a month's end: no rows.


def test_the_plans_add_up_to_the_companys_mrr(wh: Path) -> None:
    rows = query(wh, """select s.month, s.mrr_end, p.mrr_end
                        from marts.saas_metrics_monthly s
                        join (select month, sum(mrr_end) as mrr_end
                              from marts.mrr_by_plan_monthly group by month) p using (month)
                        order by s.month""")
    assert rows == [(date(2024, 1, 1), 198.0, 198.0), (date(2024, 2, 1), 398.0, 398.0),
                    (date(2024, 3, 1), 129.0, 129.0)]
