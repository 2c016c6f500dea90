"""Buying trend per customer segment (docs/METRICS.md, Revenue structure and sales).

Per segment, over its monthly revenue x_1..x_T (months in order):

- ``moving_avg_3m``: mean of the month and the two before; NULL for the first two months.
- ``smoothed``: simple exponential smoothing, s_1 = x_1, s_t = alpha x_t + (1 - alpha) s_{t-1}.
- Forecast for the next ``horizon`` months: flat, the last smoothed value s_T (the SES
  point forecast does not trend).
- Band: sigma = root mean square of the one-step-ahead errors e_t = x_t - s_{t-1}
  (t = 2..T), the residual standard deviation of SES with a zero-mean error (the ETS(A,N,N)
  estimate). The h-step band is forecast +/- 1.96 x sigma x sqrt(1 + (h - 1) alpha^2)
  (an approximate 95% interval that widens with h), its low end floored at 0 (revenue is
  never negative). With a single month there is no residual: the band is NULL.

History rows have ``is_forecast`` false and NULL forecast columns; forecast rows have NULL
revenue, moving average and smoothed value.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd

Z_95 = 1.96
SOURCE = "marts.revenue_by_segment_monthly"
TARGET = "marts.buying_trend_monthly"
COLUMNS = [
    "segment", "month", "revenue", "moving_avg_3m", "smoothed", "is_forecast",
    "forecast", "forecast_low", "forecast_high",
]


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + (month.month - 1) + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _as_date(value: object) -> dt.date:
    return pd.Timestamp(value).date()


def _segment_trend(segment: str, months: list[dt.date], values: list[float],
                   alpha: float, horizon: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    smoothed: list[float] = []
    errors: list[float] = []
    for t, x in enumerate(values):
        if t == 0:
            s = x
        else:
            errors.append(x - smoothed[-1])
            s = alpha * x + (1 - alpha) * smoothed[-1]
        smoothed.append(s)
        window = values[t - 2 : t + 1] if t >= 2 else None
        rows.append({
            "segment": segment,
            "month": months[t],
            "revenue": x,
            "moving_avg_3m": sum(window) / 3 if window else None,
            "smoothed": s,
            "is_forecast": False,
            "forecast": None,
            "forecast_low": None,
            "forecast_high": None,
        })
    if not values:
        return rows
    level = smoothed[-1]
    sigma = math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else None
    for h in range(1, horizon + 1):
        if sigma is None:
            low = high = None
        else:
            half = Z_95 * sigma * math.sqrt(1 + (h - 1) * alpha * alpha)
            low, high = max(level - half, 0.0), level + half
        rows.append({
            "segment": segment,
            "month": _add_months(months[-1], h),
            "revenue": None,
            "moving_avg_3m": None,
            "smoothed": None,
            "is_forecast": True,
            "forecast": level,
            "forecast_low": low,
            "forecast_high": high,
        })
    return rows


def compute_buying_trend(monthly: pd.DataFrame, alpha: float, horizon: int) -> pd.DataFrame:
    """Moving average, SES and a flat forecast with a band, per segment.

    ``monthly`` has columns segment, month (first days of months), revenue; each segment's
    months should be continuous (marts.revenue_by_segment_monthly is). Returns the columns
    of ``COLUMNS``, ordered by segment then month.
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"smoothing_alpha must be in (0, 1]: {alpha}")
    if horizon < 0:
        raise ValueError(f"forecast_months must be >= 0: {horizon}")
    rows: list[dict[str, object]] = []
    if len(monthly):
        frame = monthly[["segment", "month", "revenue"]].copy()
        frame["month"] = frame["month"].map(_as_date)
        frame = frame.sort_values(["segment", "month"], kind="stable")
        for segment, group in frame.groupby("segment", sort=True):
            rows += _segment_trend(
                str(segment),
                list(group["month"]),
                [float(v) for v in group["revenue"]],
                alpha,
                horizon,
            )
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("revenue", "moving_avg_3m", "smoothed", "forecast", "forecast_low", "forecast_high"):
        out[col] = out[col].astype("float64")
    out["is_forecast"] = out["is_forecast"].astype("bool")
    return out.reset_index(drop=True)


def build_buying_trend(con: duckdb.DuckDBPyConnection, alpha: float, horizon: int) -> int:
    """(Re)write marts.buying_trend_monthly from marts.revenue_by_segment_monthly.

    Only complete months are fitted: a month-to-date as-of month (is_complete_month false)
    would read as a drop in revenue, so it is left out and becomes the first forecast month.
    Returns the number of rows written.
    """
    monthly = con.execute(
        f"select segment, month, revenue from {SOURCE} "
        "where is_complete_month order by segment, month"
    ).df()
    trend = compute_buying_trend(monthly, alpha=alpha, horizon=horizon)
    con.execute("create schema if not exists marts")
    con.register("buying_trend_frame", trend)
    try:
        con.execute(
            f"""create or replace table {TARGET} as
            select
                cast(segment as varchar) as segment,
                cast(month as date) as month,
                cast(revenue as double) as revenue,
                cast(moving_avg_3m as double) as moving_avg_3m,
                cast(smoothed as double) as smoothed,
                cast(is_forecast as boolean) as is_forecast,
                cast(forecast as double) as forecast,
                cast(forecast_low as double) as forecast_low,
                cast(forecast_high as double) as forecast_high
            from buying_trend_frame
            order by segment, month"""
        )
    finally:
        con.unregister("buying_trend_frame")
    return int(con.execute(f"select count(*) from {TARGET}").fetchone()[0])
