"""Every mart against the independent reference (tests/reference), on a seeded random data
set built to hit the corners of docs/METRICS.md (tests/reference/random_data.py: ties, offsets
across midnight and DST, revivals, same-day create-and-cancel, future-dated events, landed
fx rows, re-landed customers, users missing from `users`, anonymous visitors, activation and
funnel steps at the edges of their windows, leads converted after the as-of date, ...).

One dbt build of every model in America/New_York, as_of_date left to its default. The
hand-made fixtures in the other modules pin one fact each; this checks the definitions on
everything mixed, column by column (money to 1e-6, rates to 1e-9, counts exact).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query
from tests.reference import Config, compare_table, compute, from_csv_texts
from tests.reference.compare import mart_rows
from tests.reference.random_data import generate

TZ = "America/New_York"
# The buying trend is a Python asset (not built by dbt); the e2e reference test covers it.
MARTS = [
    "saas_metrics_monthly",
    "mrr_movements_monthly",
    "customer_cohorts_monthly",
    "fct_mrr_movements",
    "dim_customers",
    "cac_by_channel_monthly",
    "acv_monthly",
    "product_usage_daily",
    "product_usage_weekly",
    "product_usage_monthly",
    "user_cohorts_monthly",
    "activation_monthly",
    "funnel_monthly",
    "referral_monthly",
    "nps_monthly",
    "nps_by_segment_monthly",
    "csat_monthly",
    "leads_monthly",
    "lead_conversion_by_channel_monthly",
    "releases_monthly",
    "new_product_revenue_monthly",
    "revenue_mix_monthly",
    "revenue_mix_by_region_monthly",
    "revenue_mix_by_product_monthly",
    "revenue_by_segment_monthly",
    "customer_tiers",
    "customer_tiers_summary",
    "bookings_vs_revenue_monthly",
    "sales_rep_performance_quarterly",
    "sales_rep_mix",
    "customer_lifetime_value_by_segment",
    "kpi_scorecard",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[dict]]]:
    texts = generate()
    # Singular tests (bridge, triangles, tiers) run on this data too; the generic column tests
    # run in the fixture modules and the e2e build.
    path = build_marts(
        tmp_path_factory,
        "reference_random",
        texts,
        ["build", "--select", "+path:models/marts", "--exclude", "test_type:generic"],
        {"reporting_timezone": TZ},
    )
    config = Config(reporting_timezone=TZ)
    return path, compute(from_csv_texts(texts, config), config)


def test_the_data_set_exercises_the_marts(built: tuple[Path, dict]) -> None:
    wh, ref = built
    kinds = {r["movement_type"] for r in ref["fct_mrr_movements"]}
    assert len(ref["fct_mrr_movements"]) > 150
    assert kinds == {"new", "expansion", "contraction", "churn", "reactivation"}
    assert query(wh, "select as_of_date from intermediate.int_as_of_date") == [
        (max(r["date"] for r in ref["product_usage_daily"]),)
    ]
    assert sum(r["anonymous_visitors"] for r in ref["funnel_monthly"]) > 20
    assert {r["tier"] for r in ref["customer_tiers"]} == {"A", "B", "C"}


@pytest.mark.parametrize("mart", MARTS)
def test_mart_matches_the_reference(built: tuple[Path, dict], mart: str) -> None:
    wh, ref = built
    assert ref[mart], f"the reference has no {mart} rows: the data set misses it"
    diff = compare_table(mart, mart_rows(wh, mart), ref[mart])
    assert not diff, "\n".join(diff.problems)
