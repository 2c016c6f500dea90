"""compute_buying_trend (dagster_project/transform/buying_trend.py) on series computed by hand."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pandas as pd
import pytest

from dagster_project.transform.buying_trend import build_buying_trend, compute_buying_trend


def frame(rows: list[tuple[str, date, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["segment", "month", "revenue"])


def test_ses_of_a_known_series_and_its_flat_forecast() -> None:
    # x = 10, 20, 30, alpha 0.5: s1 = 10, s2 = 0.5 x 20 + 0.5 x 10 = 15, s3 = 0.5 x 30 + 0.5 x 15
    # = 22.5; forecast for the next months = 22.5 (flat).
    out = compute_buying_trend(
        frame([("smb", date(2024, 1, 1), 10), ("smb", date(2024, 2, 1), 20), ("smb", date(2024, 3, 1), 30)]),
        alpha=0.5, horizon=2,
    )
    history = out[~out["is_forecast"]]
    assert history["smoothed"].tolist() == [10.0, 15.0, 22.5]
    forecast = out[out["is_forecast"]]
    assert forecast["month"].tolist() == [date(2024, 4, 1), date(2024, 5, 1)]
    assert forecast["forecast"].tolist() == [22.5, 22.5]


def test_moving_average_needs_three_months() -> None:
    # (10 + 20 + 30) / 3 = 20; the first two months have no 3-month average.
    out = compute_buying_trend(
        frame([("smb", date(2024, 1, 1), 10), ("smb", date(2024, 2, 1), 20), ("smb", date(2024, 3, 1), 30)]),
        alpha=0.5, horizon=0,
    )
    values = out["moving_avg_3m"].tolist()
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2] == 20.0
    assert len(out) == 3


def test_band_from_the_one_step_residuals() -> None:
    # One-step errors: e2 = 20 - s1 = 10, e3 = 30 - s2 = 15; sigma = sqrt((100 + 225) / 2).
    # h = 1: 22.5 +/- 1.96 sigma; h = 2: 22.5 +/- 1.96 sigma sqrt(1 + 0.5^2); low floored at 0.
    out = compute_buying_trend(
        frame([("smb", date(2024, 1, 1), 10), ("smb", date(2024, 2, 1), 20), ("smb", date(2024, 3, 1), 30)]),
        alpha=0.5, horizon=2,
    )
    sigma = math.sqrt(162.5)
    forecast = out[out["is_forecast"]]
    assert forecast["forecast_high"].tolist() == pytest.approx(
        [22.5 + 1.96 * sigma, 22.5 + 1.96 * sigma * math.sqrt(1.25)], abs=1e-12
    )
    assert forecast["forecast_low"].tolist() == [0.0, 0.0]  # 22.5 - 24.99 < 0


def test_band_low_end_above_zero() -> None:
    # x = 100, 110, 100, alpha 0.2: s = 100, 102, 101.6; errors 10, -2; sigma = sqrt(104 / 2).
    out = compute_buying_trend(
        frame([("ent", date(2024, 1, 1), 100), ("ent", date(2024, 2, 1), 110), ("ent", date(2024, 3, 1), 100)]),
        alpha=0.2, horizon=1,
    )
    last = out[out["is_forecast"]].iloc[0]
    assert last["forecast"] == pytest.approx(101.6, abs=1e-12)
    assert last["forecast_low"] == pytest.approx(101.6 - 1.96 * math.sqrt(52), abs=1e-12)


def test_segments_are_independent_and_ordered() -> None:
    # Rows out of order; each segment is smoothed on its own series.
    out = compute_buying_trend(
        frame([
            ("smb", date(2024, 2, 1), 4),
            ("ent", date(2024, 1, 1), 100),
            ("smb", date(2024, 1, 1), 2),
        ]),
        alpha=0.5, horizon=1,
    )
    assert list(zip(out["segment"], out["month"], out["is_forecast"], strict=True)) == [
        ("ent", date(2024, 1, 1), False),
        ("ent", date(2024, 2, 1), True),
        ("smb", date(2024, 1, 1), False),
        ("smb", date(2024, 2, 1), False),
        ("smb", date(2024, 3, 1), True),
    ]
    assert out.loc[out["is_forecast"], "forecast"].tolist() == [100.0, 3.0]  # smb: 0.5 x 4 + 0.5 x 2
    # one month only: no residual, no band
    assert math.isnan(out.loc[1, "forecast_low"]) and math.isnan(out.loc[1, "forecast_high"])


def test_forecast_crosses_the_year() -> None:
    out = compute_buying_trend(frame([("smb", date(2024, 12, 1), 5)]), alpha=0.5, horizon=2)
    assert out["month"].tolist() == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]


def test_alpha_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="smoothing_alpha"):
        compute_buying_trend(frame([]), alpha=0, horizon=3)


def test_build_writes_the_table_and_leaves_out_a_month_to_date() -> None:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.revenue_by_segment_monthly as
                   select * from (values
                     ('smb', date '2024-01-01', 10.0, true),
                     ('smb', date '2024-02-01', 20.0, true),
                     ('smb', date '2024-03-01', 30.0, true),
                     ('smb', date '2024-04-01', 1.0, false)
                   ) as t(segment, month, revenue, is_complete_month)""")
    # 3 complete months + 3 forecast months; April (month-to-date) is the first forecast month.
    assert build_buying_trend(con, alpha=0.5, horizon=3) == 6
    rows = con.execute("""select month, revenue, is_forecast, forecast from marts.buying_trend_monthly
                          where month >= date '2024-03-01' order by month""").fetchall()
    assert rows == [
        (date(2024, 3, 1), 30.0, False, None),
        (date(2024, 4, 1), None, True, 22.5),
        (date(2024, 5, 1), None, True, 22.5),
        (date(2024, 6, 1), None, True, 22.5),
    ]
    # rebuilding replaces the table
    assert build_buying_trend(con, alpha=0.5, horizon=1) == 4
