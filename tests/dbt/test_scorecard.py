"""KPI scorecard (docs/METRICS.md, KPI scorecard) on one small hand-made data set, answers
computed by hand. One dbt build (module fixture), reporting time zone UTC,
as_of_date = 2024-06-30. The kpi_targets seed is replaced by the fixture's TARGETS.

NPS per month (promoters 9-10, detractors 0-6; nps = 100 x (P - D) / responses):
  2024-01: 10, 10, 9, 3     -> (3 - 1) / 4 = 50
  2024-02: 10, 9, 8, 7, 0   -> (2 - 1) / 5 = 20
  2024-03: 10, 5, 8         -> (1 - 1) / 3 = 0
  2024-04: 10, 9, 9, 8      -> (3 - 0) / 4 = 75
  2024-05: none             -> NULL
  2024-06: 10, 10, 0, 0     -> (2 - 2) / 4 = 0
  Q1: responses 12, P 6, D 3 -> 100 x 3 / 12 = 25;  Q2: responses 8, P 5, D 2 -> 37.5

MRR: k1..k4 start 2023-12-01 at 100 each; k2 expands to 150 on 2024-02-01; k4 churns
2024-03-10; k3 churns 2024-04-20.
  logo_churn_rate: 2024-02 0 / 4 = 0; 2024-03 1 / 4 = 0.25; 2024-04 1 / 3.
  Q1 2024: start 400 (4 customers), end k1 100 + k2 150 + k3 100 = 350;
    logo churn 1 / 4 = 0.25; NRR 350 / 400 = 0.875; GRR (100 + 100 + 100 + 0) / 400 = 0.75;
    retention 3 / 4; mrr 350, previous quarter (2023-Q4, December only) mrr 400.
  Q2 2024: start 350 (3), end k1 100 + k2 150 = 250; NRR 250 / 350; retention 2 / 3.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

SURVEY_RESPONSES = """
response_id,survey,responded_at,score
j1,nps,2024-01-05,10
j2,nps,2024-01-06,10
j3,nps,2024-01-07,9
j4,nps,2024-01-08,3
f1,nps,2024-02-05,10
f2,nps,2024-02-06,9
f3,nps,2024-02-07,8
f4,nps,2024-02-08,7
f5,nps,2024-02-09,0
m1,nps,2024-03-05,10
m2,nps,2024-03-06,5
m3,nps,2024-03-07,8
a1,nps,2024-04-05,10
a2,nps,2024-04-06,9
a3,nps,2024-04-07,9
a4,nps,2024-04-08,8
u1,nps,2024-06-05,10
u2,nps,2024-06-06,10
u3,nps,2024-06-07,0
u4,nps,2024-06-08,0
"""

CUSTOMERS = """
customer_id,created_at,segment
k1,2023-12-01,smb
k2,2023-12-01,smb
k3,2023-12-01,smb
k4,2023-12-01,smb
"""

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,unit_amount,currency
e1,s1,k1,created,2023-12-01,100,USD
e2,s2,k2,created,2023-12-01,100,USD
e3,s3,k3,created,2023-12-01,100,USD
e4,s4,k4,created,2023-12-01,100,USD
e5,s2,k2,changed,2024-02-01,150,USD
e6,s4,k4,canceled,2024-03-10,,USD
e7,s3,k3,canceled,2024-04-20,,USD
"""

# kpi,grain,period_start,target,direction,tolerance  -> expected (hand-computed)
TARGETS = """
kpi,grain,period_start,target,direction,tolerance
nps,month,2024-01-01,50,higher_is_better,0.2
nps,month,2024-02-01,24,higher_is_better,0.2
nps,month,2024-04-01,95,higher_is_better,0.2
nps,month,2024-05-01,30,higher_is_better,0.2
nps,month,2024-06-01,0,higher_is_better,0.2
nps,month,2024-07-01,30,higher_is_better,0.2
nps,quarter,2024-01-01,25,higher_is_better,0.2
nps,quarter,2024-04-01,40,higher_is_better,0.2
logo_churn_rate,month,2024-02-01,0.02,lower_is_better,0.2
logo_churn_rate,month,2024-03-01,0.25,lower_is_better,0.2
logo_churn_rate,month,2024-04-01,0.25,lower_is_better,0.2
logo_churn_rate,quarter,2024-01-01,0.2,lower_is_better,0.25
net_revenue_retention,quarter,2024-01-01,0.875,higher_is_better,0.1
mrr,quarter,2024-01-01,350,higher_is_better,0.1
"""

SELECT = "+kpi_scorecard"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = {"survey_responses": SURVEY_RESPONSES, "customers": CUSTOMERS,
                "subscription_events": SUBSCRIPTION_EVENTS}
    return build_marts(
        tmp_path_factory, "scorecard", fixtures,
        ["build", "--indirect-selection", "cautious", "--select", SELECT, "--exclude", "kpi_targets"],
        {"as_of_date": "2024-06-30"},
        seeds={"kpi_targets": TARGETS},
    )


def card(wh: Path, kpi: str, grain: str, period: str) -> tuple:
    rows = query(wh, f"""select actual, target, attainment, status, previous_actual, change
                         from marts.kpi_scorecard
                         where kpi = '{kpi}' and grain = '{grain}' and period_start = date '{period}'""")
    assert len(rows) == 1, rows
    return rows[0]


def test_one_row_per_target(wh: Path) -> None:
    assert query(wh, "select count(*), count(distinct kpi || grain || period_start) from marts.kpi_scorecard") == [
        (14, 14)
    ]


def test_exactly_on_target_is_on_track(wh: Path) -> None:
    # nps 2024-01: 50 against 50 -> attainment 50 / 50 = 1; no December data -> no previous.
    assert card(wh, "nps", "month", "2024-01-01") == (50.0, 50.0, 1.0, "on_track", None, None)


def test_inside_tolerance_is_at_risk(wh: Path) -> None:
    # nps 2024-02: 20 against 24 -> 20 / 24 = 0.833 >= 1 - 0.2; previous 50, change 20 - 50.
    assert card(wh, "nps", "month", "2024-02-01") == (20.0, 24.0, 20 / 24, "at_risk", 50.0, -30.0)


def test_just_outside_tolerance_is_off_track(wh: Path) -> None:
    # nps 2024-04: 75 against 95 -> 75 / 95 = 0.789 < 0.8; previous (March) 0, change 75.
    assert card(wh, "nps", "month", "2024-04-01") == (75.0, 95.0, 75 / 95, "off_track", 0.0, 75.0)


def test_a_month_without_data_is_no_data(wh: Path) -> None:
    # May: no response -> nps NULL -> no_data, previous (April) 75, change NULL.
    assert card(wh, "nps", "month", "2024-05-01") == (None, 30.0, None, "no_data", 75.0, None)
    # July is after the as-of date: no actual; previous (June) 0.
    assert card(wh, "nps", "month", "2024-07-01") == (None, 30.0, None, "no_data", 0.0, None)


def test_a_zero_target_compares_directly(wh: Path) -> None:
    # nps 2024-06: 0 against 0 -> no ratio (division by 0) -> on_track because 0 >= 0.
    assert card(wh, "nps", "month", "2024-06-01") == (0.0, 0.0, None, "on_track", None, None)


def test_quarterly_nps_is_recomputed_from_the_quarter_responses(wh: Path) -> None:
    # Q1: 100 x (6 - 3) / 12 = 25 against 25 -> on_track; Q2: 100 x (5 - 2) / 8 = 37.5 against
    # 40 -> 0.9375 -> at_risk; previous Q1 25, change 12.5.
    assert card(wh, "nps", "quarter", "2024-01-01") == (25.0, 25.0, 1.0, "on_track", None, None)
    assert card(wh, "nps", "quarter", "2024-04-01") == (37.5, 40.0, 37.5 / 40, "at_risk", 25.0, 12.5)


def test_lower_is_better_exactly_on_target(wh: Path) -> None:
    # logo churn 2024-03: 1 / 4 = 0.25 against 0.25 -> target / actual = 1; previous Feb 0.
    assert card(wh, "logo_churn_rate", "month", "2024-03-01") == (0.25, 0.25, 1.0, "on_track", 0.0, 0.25)


def test_lower_is_better_off_track(wh: Path) -> None:
    # logo churn 2024-04: 1 / 3 against 0.25 -> 0.25 / (1/3) = 0.75 < 0.8.
    actual, target, attainment, status, previous, change = card(wh, "logo_churn_rate", "month", "2024-04-01")
    assert (actual, target, status, previous) == (1 / 3, 0.25, "off_track", 0.25)
    assert attainment == pytest.approx(0.75, abs=1e-12)
    assert change == pytest.approx(1 / 3 - 0.25, abs=1e-12)


def test_lower_is_better_with_a_zero_actual_beats_the_target(wh: Path) -> None:
    # logo churn 2024-02: 0 against 0.02 -> target / 0 has no value -> on_track (0 <= 0.02);
    # previous: January, 0 churns of 4 customers = 0.
    assert card(wh, "logo_churn_rate", "month", "2024-02-01") == (0.0, 0.02, None, "on_track", 0.0, 0.0)


def test_lower_is_better_inside_tolerance_is_at_risk(wh: Path) -> None:
    # Q1 logo churn: 1 churn / 4 customers at the quarter start = 0.25 against 0.2 ->
    # 0.2 / 0.25 = 0.8 >= 1 - 0.25 -> at_risk; 2023-Q4 started with no customer -> no previous.
    assert card(wh, "logo_churn_rate", "quarter", "2024-01-01") == (0.25, 0.2, 0.8, "at_risk", None, None)


def test_quarterly_retention_and_stock(wh: Path) -> None:
    # NRR Q1 = 350 / 400 = 0.875 on target; MRR at the end of Q1 = 350, previous quarter 400.
    assert card(wh, "net_revenue_retention", "quarter", "2024-01-01") == (
        0.875, 0.875, 1.0, "on_track", None, None
    )
    assert card(wh, "mrr", "quarter", "2024-01-01") == (350.0, 350.0, 1.0, "on_track", 400.0, -50.0)


def test_quarterly_actuals_of_the_registry(wh: Path) -> None:
    rows = {
        (kpi, period): actual
        for kpi, period, actual in query(wh, """
            select kpi, period_start, actual from marts.kpi_actuals
            where grain = 'quarter' and kpi in ('gross_revenue_retention', 'customer_retention_rate',
                  'net_revenue_retention', 'churned_mrr', 'mrr_growth_rate', 'customers')""")
    }
    q1, q2 = date(2024, 1, 1), date(2024, 4, 1)
    assert rows[("gross_revenue_retention", q1)] == 0.75          # 300 / 400
    assert rows[("customer_retention_rate", q1)] == 0.75          # 3 / 4
    assert rows[("net_revenue_retention", q2)] == 250 / 350
    assert rows[("customer_retention_rate", q2)] == 2 / 3
    assert rows[("churned_mrr", q1)] == 100.0                     # k4
    assert rows[("mrr_growth_rate", q1)] == -0.125                # (350 - 400) / 400
    assert rows[("customers", q2)] == 2.0                         # k1, k2 at 2024-06-30
