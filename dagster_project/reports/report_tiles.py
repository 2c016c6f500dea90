"""The KPI report's headline tiles: each KPI's figure for the report's month (the last
complete one), its change on the month before and a sparkline of the last twelve. With
no complete month yet, the month to date, labelled so."""

from __future__ import annotations

from collections.abc import Callable

from dagster_project.reports import charts as s
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData
from dagster_project.reports.report_page import Tile


def _delta_pct(now: float | None, before: float | None) -> str:
    if fmt.is_missing(now) or fmt.is_missing(before) or not before:
        return ""
    d = (now - before) / abs(before)
    return f" ({'+' if d >= 0 else ''}{fmt.pct(d)})"


def _better(now: float | None, before: float | None, up: bool) -> bool | None:
    """Whether the change is good news (None: no change, or nothing to compare)."""
    if fmt.is_missing(now) or fmt.is_missing(before) or now == before:
        return None
    return (now > before) == up  # type: ignore[operator]


def _points(now: float | None, before: float | None, unit: Callable[[float], str]) -> str | None:
    """The change on the month before, written by ``unit`` (None without one)."""
    if fmt.is_missing(now) or fmt.is_missing(before):
        return None
    return f"{unit(now - before)} vs prior month"  # type: ignore[operator]


def _signed(decimals: int, suffix: str = "") -> Callable[[float], str]:
    return lambda d: f"{'+' if d >= 0 else fmt.MINUS}{abs(d):.{decimals}f}{suffix}"


def _stock_tiles(ctx: Context, saas: list[dict]) -> list[Tile]:
    """MRR, ARR and customers at the end of the report's month (or to date)."""
    last = saas[-1]
    when = (f"{fmt.month_label(last['month'])} to date ({ctx.as_of.day} "
            f"{fmt.month_label(ctx.as_of)})" if ctx.partial(last["month"]) and ctx.as_of
            else f"end of {fmt.month_label(last['month'])}")
    change = last["mrr_end"] - last["mrr_start"]
    dc = last["customers_end"] - last["customers_start"]
    money = ctx.currency
    return [
        Tile(ctx.kpi_name(key), value, when, delta, moved > 0 if moved else None,
             s.sparkline([r[column] for r in saas[-12:]], label=spark), f"def-{key}", key,
             None if fmt.is_missing(last[column]) else float(last[column]))
        for key, column, value, delta, moved, spark in (
            ("mrr", "mrr_end", fmt.money(last["mrr_end"], money),
             (f"{fmt.signed_money(change, money)}"
             f"{_delta_pct(last['mrr_end'], last['mrr_start'])} in the month"),
             change, "MRR, last 12 months"),
            ("arr", "arr_end", fmt.money(last["arr_end"], money),
             f"{fmt.signed_money(12 * change, money)} in the month", change,
             "ARR, last 12 months"),
            ("customers", "customers_end", fmt.count(last["customers_end"]),
             f"{'+' if dc >= 0 else fmt.MINUS}{abs(dc):,} in the month", dc, "customers"),
        )
    ]


def _monthly_tile(ctx: Context, done: list[dict], column: str, kpi: str, anchor: str, *,
                  show: Callable[[float], str], change: Callable[[float], str],
                  better_up: bool = True, when: str = "", spark: str | None = None) -> Tile:
    """A rate or score of the report's month (``done``: complete months up to it)."""
    m, prev = done[-1], (done[-2] if len(done) > 1 else None)
    now, before = m[column], prev[column] if prev else None
    label = ctx.kpi_name(kpi)
    return Tile(label, show(now), fmt.month_label(m["month"]) + when,
                _points(now, before, change), _better(now, before, better_up),
                s.sparkline([r[column] for r in done[-12:]], label=spark or label), anchor,
                kpi if kpi != "dau_mau" else "stickiness", now)


def headline_tiles(ctx: Context) -> list[Tile]:
    tiles: list[Tile] = []
    try:
        saas = ctx.saas()
    except NoData:
        saas = []
    saas = ctx.upto_period(saas) or saas  # with no complete month yet, the month to date
    if saas:
        tiles += _stock_tiles(ctx, saas)
        done = ctx.complete(saas)
        if done:
            tiles += [
                _monthly_tile(ctx, done, "net_revenue_retention", "net_revenue_retention",
                              "def-nrr", show=fmt.pct, change=fmt.pct_points),
                _monthly_tile(ctx, done, "logo_churn_rate", "logo_churn_rate", "def-churn",
                              show=fmt.pct, change=fmt.pct_points, better_up=False),
                _monthly_tile(ctx, done, "quick_ratio", "quick_ratio", "def-quick-ratio",
                              show=fmt.ratio, change=_signed(1)),
            ]
    for table, sql, column, kpi, anchor, show, change, when, spark in (
        ("marts.nps_monthly",
         "select month, nps from marts.nps_monthly where nps is not null order by month",
         "nps", "nps", "def-nps", fmt.score, _signed(0, " pts"), "", "NPS"),
        ("marts.product_usage_daily",
         ("select cast(date_trunc('month', date) as date) as month, avg(stickiness) as "
         "stickiness, max(date) as last_day from marts.product_usage_daily group by 1 order by 1"),
         "stickiness", "dau_mau", "def-stickiness", fmt.pct, fmt.pct_points, " average",
         "stickiness"),
    ):
        try:
            done = ctx.upto_period(ctx.complete(ctx.marts.rows(table, sql, source=table)))
        except NoData:
            continue
        if done:
            tiles.append(_monthly_tile(ctx, done, column, kpi, anchor, show=show,
                                       change=change, when=when, spark=spark))
    return tiles
