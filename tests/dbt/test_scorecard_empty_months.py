"""The scorecard's actuals in months without any MRR movement or MRR: a free (0) plan from
January, paid (50 a month) from 2024-03-10. mrr_movements_monthly leaves out all-zero
rows, so it has no January or February row; saas_metrics_monthly has both, with zeros.
The scorecard's actuals (compiled from the metric definitions) take their periods from
the company's series: January and February MRR is 0, not missing, and a rate over a zero
start is NULL. Hand numbers: MRR 0, 0, 50; Q1 MRR 50 (March), Q1 MRR at start 0; new MRR
Q1 50."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

SUBSCRIPTION_EVENTS = """
event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,billing_period,unit_amount,quantity,discount_amount,currency
e1,s1,c1,created,2024-01-05,,month,0,1,,USD
e2,s1,c1,changed,2024-03-10,,month,50,1,,USD
"""


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marts(tmp_path_factory, "empty_months", {"subscription_events": SUBSCRIPTION_EVENTS},
                       ["build", "--indirect-selection", "cautious", "--select", "+kpi_actuals"])


def _actuals(wh: Path, kpi: str, grain: str) -> dict:
    return dict(query(wh, "select period_start, actual from marts.kpi_actuals "
                          f"where kpi = '{kpi}' and grain = '{grain}' order by 1"))


def test_the_bridge_mart_has_no_row_for_the_empty_months(wh: Path) -> None:
    assert query(wh, "select month from marts.mrr_movements_monthly") == [(date(2024, 3, 1),)]
    assert [r[0] for r in query(wh, "select month from marts.saas_metrics_monthly order by 1")] == [
        date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]


def test_an_empty_month_has_zero_mrr_and_null_rates(wh: Path) -> None:
    assert _actuals(wh, "mrr", "month") == {
        date(2024, 1, 1): 0, date(2024, 2, 1): 0, date(2024, 3, 1): 50}
    assert _actuals(wh, "new_customers", "month") == {
        date(2024, 1, 1): 0, date(2024, 2, 1): 0, date(2024, 3, 1): 1}
    assert _actuals(wh, "logo_churn_rate", "month") == {
        date(2024, 1, 1): None, date(2024, 2, 1): None, date(2024, 3, 1): None}
    assert _actuals(wh, "mrr_growth_rate", "month")[date(2024, 3, 1)] is None  # from 0


def test_the_quarter_takes_its_stocks_at_its_end_and_start(wh: Path) -> None:
    assert _actuals(wh, "mrr", "quarter") == {date(2024, 1, 1): 50}
    assert _actuals(wh, "new_mrr", "quarter") == {date(2024, 1, 1): 50}
    assert _actuals(wh, "net_new_mrr", "quarter") == {date(2024, 1, 1): 50}
