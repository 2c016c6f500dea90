"""The semantic layer on hand-made serving databases. First the revenue bridge of three
segments over four months, every number below computed by hand.

    segment  month    start  new  exp  contr  churn  end   cust start/new/churn/end  retained  cohort end / capped
    smb      2025-01   100    50    0     0      0   150   1 / 1 / 0 / 2             1         100 / 100
    smb      2025-02   150     0   30     0    100    80   2 / 0 / 1 / 1             1          80 / 80
    smb      2025-03    80     0    0     0      0    80   1 / 0 / 0 / 1             1          80 / 80
    smb      2025-04    80     0    0     0     80     0   1 / 0 / 1 / 0             0           0 / 0
    ent      2025-01  1000     0    0   200      0   800   1 / 0 / 0 / 1             1         800 / 800
    ent      2025-02   800     0    0     0      0   800   1 / 0 / 0 / 1             1         800 / 800
    ent      2025-03   800     0  100     0      0   900   1 / 0 / 0 / 1             1         900 / 800
    ent      2025-04   900     0    0     0      0   900   1 / 0 / 0 / 1             1         900 / 900
    mid      2025-04     0    40    0     0      0    40   0 / 1 / 0 / 1             0           0 / 0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from dagster_project.semantic import SemanticLayer, SemanticLayerError
from dagster_project.transform.manifest import SEMANTIC_MANIFEST_PATH, ensure_manifest

ROWS = [
    # segment, month, start, new, exp, react, contr, churn, end, c_start, c_new, c_react, c_churn, c_end, retained, cohort_end, capped
    ("smb", "2025-01-01", 100, 50, 0, 0, 0, 0, 150, 1, 1, 0, 0, 2, 1, 100, 100),
    ("smb", "2025-02-01", 150, 0, 30, 0, 0, 100, 80, 2, 0, 0, 1, 1, 1, 80, 80),
    ("smb", "2025-03-01", 80, 0, 0, 0, 0, 0, 80, 1, 0, 0, 0, 1, 1, 80, 80),
    ("smb", "2025-04-01", 80, 0, 0, 0, 0, 80, 0, 1, 0, 0, 1, 0, 0, 0, 0),
    ("ent", "2025-01-01", 1000, 0, 0, 0, 200, 0, 800, 1, 0, 0, 0, 1, 1, 800, 800),
    ("ent", "2025-02-01", 800, 0, 0, 0, 0, 0, 800, 1, 0, 0, 0, 1, 1, 800, 800),
    ("ent", "2025-03-01", 800, 0, 100, 0, 0, 0, 900, 1, 0, 0, 0, 1, 1, 900, 800),
    ("ent", "2025-04-01", 900, 0, 0, 0, 0, 0, 900, 1, 0, 0, 0, 1, 1, 900, 900),
    ("mid", "2025-04-01", 0, 40, 0, 0, 0, 0, 40, 0, 1, 0, 0, 1, 0, 0, 0),
]


def _serving_layer(tmp_path_factory: pytest.TempPathFactory, name: str,
                   fill: Callable[[duckdb.DuckDBPyConnection], None]) -> Iterator[SemanticLayer]:
    """The semantic layer over a serving database whose schema marts ``fill`` writes."""
    ensure_manifest()
    path = Path(tmp_path_factory.mktemp(name)) / "serving.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        fill(con)
    finally:
        con.close()
    with SemanticLayer(path, SEMANTIC_MANIFEST_PATH) as sl:
        yield sl


def _revenue_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""create table marts.mrr_movements_monthly (
        month date, segment varchar, region varchar, acquisition_channel varchar,
        mrr_start double, new_mrr double, expansion_mrr double, reactivation_mrr double,
        contraction_mrr double, churned_mrr double, mrr_end double, net_new_mrr double,
        arr_end double, customers_start bigint, new_customers bigint,
        reactivated_customers bigint, churned_customers bigint, customers_end bigint,
        retained_customers bigint, start_cohort_mrr_end double,
        start_cohort_mrr_end_capped double)""")
    for (seg, month, start, new, exp, react, contr, churn, end, c_start, c_new, c_react, c_churn,
         c_end, retained, cohort_end, capped) in ROWS:
        con.execute(
            "insert into marts.mrr_movements_monthly values "
            "(?, ?, 'emea', 'organic', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [month, seg, start, new, exp, react, contr, churn, end, end - start, 12 * end,
             c_start, c_new, c_react, c_churn, c_end, retained, cohort_end, capped])


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory):
    yield from _serving_layer(tmp_path_factory, "semantic", _revenue_marts)


def _by_period(layer: SemanticLayer, metrics: list[str], **kw) -> dict:
    result = layer.query(metrics, **kw)
    return {row[0]: row[1:] for row in result.rows}


M = dt.date


def test_stocks_are_the_months_closing_values_and_flows_their_sums(layer) -> None:
    got = _by_period(layer, ["mrr", "customers", "new_mrr", "arr"])
    assert got == {
        M(2025, 1, 1): (950, 3, 50, 11400),
        M(2025, 2, 1): (880, 2, 0, 10560),
        M(2025, 3, 1): (980, 2, 0, 11760),
        M(2025, 4, 1): (940, 2, 40, 11280),
    }


def test_a_quarter_takes_stocks_at_its_end_and_start_and_recomputes_rates(layer) -> None:
    got = _by_period(layer, ["mrr", "mrr_at_start", "net_new_mrr", "customers_at_start",
                             "churned_customers", "logo_churn_rate", "net_mrr_churn_rate",
                             "gross_mrr_churn_rate", "quick_ratio"], grain="quarter")
    q1 = got[M(2025, 1, 1)]
    # Q1: MRR at the end of March 980, at the start of January 1100; churn 100, contraction
    # 200, expansion 130, new 50.
    assert q1[:5] == (980, 1100, -120, 2, 1)
    assert q1[5] == pytest.approx(1 / 2)
    assert q1[6] == pytest.approx((100 + 200 - 130) / 1100)
    assert q1[7] == pytest.approx(300 / 1100)
    assert q1[8] == pytest.approx((50 + 130) / 300)
    q2 = got[M(2025, 4, 1)]
    assert q2[:5] == (940, 980, -40, 2, 1)
    assert q2[6] == pytest.approx(80 / 980)


def test_slices_recombine_to_the_total(layer) -> None:
    result = layer.query(["mrr", "net_mrr_churn_rate"], by=["segment"], grain="quarter")
    q1 = {seg: (mrr, rate) for period, seg, mrr, rate in result.rows if period == M(2025, 1, 1)}
    assert q1 == {"ent": (900, pytest.approx((200 - 100) / 1000)),
                  "smb": (80, pytest.approx((100 - 30) / 100))}
    assert sum(mrr for mrr, _ in q1.values()) == 980


def test_a_zero_denominator_gives_null_never_inf_or_nan(layer) -> None:
    result = layer.query(["logo_churn_rate", "net_mrr_churn_rate", "quick_ratio", "arpa"],
                         by=["segment"])
    april_mid = [row for row in result.rows if row[0] == M(2025, 4, 1) and row[1] == "mid"]
    # mid starts April with no customers and no MRR, and loses nothing: every rate is NULL
    # but ARPA (40 MRR, 1 customer at the end).
    assert april_mid == [(M(2025, 4, 1), "mid", None, None, None, 40)]


def test_retention_is_monthly_and_refused_at_a_coarser_grain(layer) -> None:
    got = _by_period(layer, ["net_revenue_retention", "gross_revenue_retention",
                             "customer_retention_rate"])
    assert got[M(2025, 3, 1)] == (pytest.approx(980 / 880), pytest.approx(880 / 880),
                                  pytest.approx(2 / 2))
    assert got[M(2025, 4, 1)] == (pytest.approx(900 / 980), pytest.approx(900 / 980),
                                  pytest.approx(1 / 2))
    with pytest.raises(SemanticLayerError, match="defined per month only"):
        layer.query(["net_revenue_retention"], grain="quarter")
    with pytest.raises(SemanticLayerError, match="defined per month only"):
        layer.explain(["net_revenue_retention"], grain=None)
    assert "mrr_start" in layer.explain(["net_revenue_retention"])


def test_unknown_names_get_a_message_that_says_what_exists(layer) -> None:
    with pytest.raises(SemanticLayerError, match="unknown metric.*nrr.*--list"):
        layer.query(["nrr"])
    with pytest.raises(SemanticLayerError, match="product.*can be grouped by: .*segment"):
        layer.query(["mrr"], by=["product"])


# Usage, NPS, CSAT and leads: one more hand-made serving database.
#   product_usage_daily   2025-01-30 / 01-31 / 02-01: dau 10 / 20 / 30, wau 40 / 50 / 60,
#                         mau 100 / 110 / 120, stickiness 0.1 / 0.2 / 0.25
#   nps_by_segment        January: smb 10 responses (5 promoters, 2 detractors), ent 4
#                         (1 promoter, 2 detractors); February: smb 0 responses
#   csat_monthly          January: 8 responses, 6 satisfied
#   leads by channel      January: paid 10 leads (4 qualified, 1 converted), organic 10
#                         (6, 2); February: paid 20 (5, 0)


def _product_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""create table marts.product_usage_daily as select * from (values
        (date '2025-01-30', 10, 40, 100, 0.1, 0, 0, 0.0),
        (date '2025-01-31', 20, 50, 110, 0.2, 0, 0, 0.0),
        (date '2025-02-01', 30, 60, 120, 0.25, 0, 0, 0.0))
        t(date, dau, wau, mau, stickiness, new_users, total_users, active_pct_of_base)""")
    con.execute("""create table marts.nps_by_segment_monthly as select * from (values
        (date '2025-01-01', 'smb', 10, 5, 3, 2, 30.0),
        (date '2025-01-01', 'ent', 4, 1, 1, 2, -25.0),
        (date '2025-02-01', 'smb', 0, 0, 0, 0, null))
        t(month, segment, responses, promoters, passives, detractors, nps)""")
    con.execute("""create table marts.csat_monthly as select * from (values
        (date '2025-01-01', 8, 6, 0.75)) t(month, responses, satisfied_responses, csat)""")
    con.execute("""create table marts.lead_conversion_by_channel_monthly as select * from (values
        (date '2025-01-01', 'paid', 10, 4, 1, 0.1),
        (date '2025-01-01', 'organic', 10, 6, 2, 0.2),
        (date '2025-02-01', 'paid', 20, 5, 0, 0.0))
        t(month, channel, leads, qualified_leads, converted_leads, lead_to_customer_rate)""")
    con.execute("""create table marts.metric_time_spine as
        select cast(range as date) as date_day
        from range(date '2024-12-01', date '2025-04-01', interval 1 day)""")


@pytest.fixture(scope="module")
def product_layer(tmp_path_factory: pytest.TempPathFactory):
    yield from _serving_layer(tmp_path_factory, "semantic_product", _product_marts)


def test_usage_means_its_days_and_takes_mau_on_the_last_day(product_layer) -> None:
    got = _by_period(product_layer, ["dau", "wau", "mau", "dau_mau"])
    assert got[M(2025, 1, 1)] == (15, 50, 110, pytest.approx(0.15))
    assert got[M(2025, 2, 1)] == (30, 60, 120, pytest.approx(0.25))
    q1 = _by_period(product_layer, ["dau", "mau", "dau_mau"], grain="quarter")[M(2025, 1, 1)]
    assert q1 == (20, 120, pytest.approx(0.55 / 3))


def test_nps_is_recomputed_per_segment_and_null_without_responses(product_layer) -> None:
    assert _by_period(product_layer, ["nps", "nps_responses"]) == {
        M(2025, 1, 1): (pytest.approx(100 * (6 - 4) / 14), 14),
        M(2025, 2, 1): (None, 0),
    }
    by_segment = product_layer.query(["nps"], by=["segment"]).rows
    assert sorted(by_segment) == [(M(2025, 1, 1), "ent", -25), (M(2025, 1, 1), "smb", 30),
                                  (M(2025, 2, 1), "smb", None)]
    assert _by_period(product_layer, ["csat"]) == {M(2025, 1, 1): (0.75,)}


def test_lead_metrics_by_month_and_channel(product_layer) -> None:
    got = _by_period(product_layer, ["leads", "qualified_leads", "lead_to_customer_rate",
                                     "lead_velocity_rate_pct"])
    assert got[M(2025, 1, 1)] == (20, 10, pytest.approx(3 / 20), None)  # no December
    assert got[M(2025, 2, 1)] == (20, 5, 0, pytest.approx(100 * (5 - 10) / 10))
    paid = {row[0]: row[2] for row in product_layer.query(["qualified_leads"], by=["channel"]).rows
            if row[1] == "paid"}
    assert paid == {M(2025, 1, 1): 4, M(2025, 2, 1): 5}
