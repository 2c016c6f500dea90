"""The sales section: revenue mix, customer tiers, bookings beside revenue, quota attainment
by rep, and the buying trend with its forecast by segment."""

from __future__ import annotations

import datetime as dt

from dagster_project.reports import charts as s
from dagster_project.reports import charts_grid as grid
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData, Section
from dagster_project.reports.report_page import Panel

SECTION = Section("sales")
# The buying trend's forecast band is drawn within [0, BAND_CAP x the highest month shown]:
# revenue is never negative, and a band wider than that says only "very uncertain".
BAND_CAP = 1.5
SEGMENT_NAMES = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise",
                 "unknown": "Unknown"}
TIER_COLOURS = {"A": "#0b3c74", "B": "#3f7fc4", "C": "#a9c6ea"}


@SECTION.panel("revenue-mix", "Revenue mix", "def-revenue-mix", "revenue_mix_monthly")
def panel_revenue_mix(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("revenue_mix_monthly", "month, revenue_type, revenue",
                    order="month, revenue_type", source="invoices")
    months = sorted({r["month"] for r in rows})
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["revenue_type"]] = totals.get(r["revenue_type"], 0.0) + float(r["revenue"] or 0)
    index = {m: i for i, m in enumerate(months)}
    series = []
    for k, kind in enumerate(sorted(totals, key=lambda t: -totals[t])):  # largest first
        values: list[float | None] = [0.0] * len(months)
        for r in rows:
            if r["revenue_type"] == kind:
                values[index[r["month"]]] = r["revenue"]
        series.append(s.Series(kind.replace("_", "-"), values,
                               s.CATEGORICAL[k % len(s.CATEGORICAL)]))
    p.units = f"Recognised revenue ({ctx.currency} per month) by type"
    p.definition = "Paid invoices in the month issued, stacked by revenue type."
    p.svgs.append(s.xy_chart(s.XYSpec(
        months, "money", f"Revenue ({ctx.currency})", "Month", bars=series,
        currency=ctx.currency, faded=ctx.faded(months), label="revenue mix")))
    p.note = ctx.mtd_note(months)
    return p


@SECTION.panel("tiers", "Customer tiers (Pareto)", "def-tiers", "customer_tiers_summary")
def panel_tiers(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("customer_tiers_summary",
                    "tier, customers, share_of_customers, revenue, share_of_revenue, churned_mrr",
                    order="tier", source="invoices")
    if not sum(r["customers"] or 0 for r in rows):
        raise NoData("no customer had revenue in the trailing 12 months.")
    by = {r["tier"]: r for r in rows}
    a = by.get("A")
    p.units = "% of customers and % of trailing-12-month revenue per tier"
    p.definition = (
        f"Tier A is {fmt.pct(a['share_of_customers'], 0)} of customers and makes "
        f"{fmt.pct(a['share_of_revenue'], 0)} of revenue."
        if a and a["share_of_customers"] is not None
        else "Customers ranked by trailing-12-month revenue.")
    churned = sum(float(x["churned_mrr"] or 0) for x in rows) or 1
    shares = {"Customers": lambda r: float(r["share_of_customers"] or 0),
              "Revenue": lambda r: float(r["share_of_revenue"] or 0),
              "Churned MRR": lambda r: float(r["churned_mrr"] or 0) / churned}
    p.svgs.append(grid.share_bars_chart(
        [(name, [(f"Tier {t}", share(by[t]), TIER_COLOURS.get(t, s.NEUTRAL)) for t in sorted(by)])
         for name, share in shares.items()],
        label="customer tiers"))
    return p


@SECTION.panel("bookings", "Bookings vs revenue", "def-bookings", "bookings_vs_revenue_monthly")
def panel_bookings(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("bookings_vs_revenue_monthly", "month, bookings_value, revenue",
                    order="month", source="bookings and invoices")
    months = [r["month"] for r in rows]
    p.units = f"{ctx.currency} per month"
    p.definition = "Contract value signed in the month beside the revenue invoiced and paid in it."
    p.svgs.append(s.xy_chart(s.XYSpec(
        months, "money", f"{ctx.currency} per month", "Month", stacked=False,
        bars=[s.Series("Bookings (contract value)", [r["bookings_value"] for r in rows],
                       s.SECONDARY),
              s.Series("Revenue", [r["revenue"] for r in rows], s.PRIMARY)],
        currency=ctx.currency, faded=ctx.faded(months), label="bookings vs revenue")))
    p.note = ctx.mtd_note(months)
    return p


@SECTION.panel("reps", "Quota attainment by rep", "def-attainment",
               "sales_rep_performance_quarterly")
def panel_reps(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("sales_rep_performance_quarterly",
                    "sales_rep_id, rep_name, quarter_start, bookings, quota, attainment",
                    order="quarter_start", where="quota is not null",
                    source="bookings and seeds/sales_quotas.csv")
    quarters = sorted({r["quarter_start"] for r in rows})
    complete = [q for q in quarters if ctx.as_of is None
                or ctx.month_end(dt.date(q.year, q.month + 2, 1)) <= ctx.as_of]
    quarter = complete[-1] if complete else quarters[-1]
    mine = sorted((r for r in rows if r["quarter_start"] == quarter),
                  key=lambda r: -(r["attainment"] if r["attainment"] is not None else -1))
    values = [r["attainment"] for r in mine]
    colours = [s.BAD if v is None or v < 0.8 else s.WARN if v < 1 else s.GOOD for v in values]
    p.title = f"Quota attainment by rep, {fmt.quarter_label(quarter)}"
    p.units = "% of quarterly quota booked"
    p.definition = ("Bookings (total contract value) / quota: green at or above quota, amber "
                    "from 80%.")
    p.svgs.append(grid.hbar_chart(
        [str(r["rep_name"] or r["sales_rep_id"]) for r in mine], values, colours,
        kind="fraction", unit="Attainment (% of quota)", refs=[s.Ref(1.0, "quota", s.INK)],
        notes=[f"{fmt.money(r['bookings'], ctx.currency)} of {fmt.money(r['quota'], ctx.currency)}"
               for r in mine],
        currency=ctx.currency, label="rep attainment"))
    if quarter not in complete:
        p.note = f"{fmt.quarter_label(quarter)} is quarter to date."
    return p


def forecast_band(history: list[dict], forecast: list[dict]
                  ) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """(forecast line, band low, band high) over history + forecast months: the forecast
    starts from the last smoothed value (so it joins the history), and the band is clipped
    to [0, BAND_CAP x the highest month of revenue shown]."""
    n_hist, shown = len(history), len(history) + len(forecast)
    line: list[float | None] = [None] * shown
    low: list[float | None] = [None] * shown
    high: list[float | None] = [None] * shown
    peak = max((float(r["revenue"]) for r in history if not fmt.is_missing(r["revenue"])),
               default=0.0)
    ceiling = BAND_CAP * peak if peak > 0 else None

    def clip(value: object) -> float | None:
        if fmt.is_missing(value):
            return None
        v = max(0.0, float(value))  # type: ignore[arg-type]
        return min(v, ceiling) if ceiling is not None else v

    if history and forecast:
        line[n_hist - 1] = history[-1]["smoothed"]
        low[n_hist - 1] = high[n_hist - 1] = history[-1]["smoothed"]
    for k, r in enumerate(forecast):
        line[n_hist + k] = r["forecast"]
        low[n_hist + k], high[n_hist + k] = clip(r["forecast_low"]), clip(r["forecast_high"])
    return line, low, high


@SECTION.panel("buying-trend", "Buying trend and forecast by segment", "def-buying-trend",
               "buying_trend_monthly", "full")
def panel_buying_trend(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("buying_trend_monthly",
                    "segment, month, revenue, smoothed, is_forecast, forecast, forecast_low, forecast_high",
                    order="segment, month", source="invoices")
    horizon = int(ctx.params.get("forecast_months", 3))  # type: ignore[arg-type]
    p.units = (f"Revenue ({ctx.currency} per month); shaded: the forecast's approximate 95% "
               f"band, drawn within 0 and {BAND_CAP:g}x the highest month shown")
    p.definition = (
        f"Complete months of revenue, their exponential smoothing, and a flat {horizon}-month "
        "forecast; the band is where a month's revenue would fall 19 times in 20 if months "
        "keep varying as they did (wider for lumpy segments: a few large invoices).")
    for segment in sorted({r["segment"] for r in rows}):
        seg = [r for r in rows if r["segment"] == segment]
        history = [r for r in seg if not r["is_forecast"]][-18:]
        shown = history + [r for r in seg if r["is_forecast"]]
        fc_line, low, high = forecast_band(history, shown[len(history):])
        p.svgs.append(s.xy_chart(s.XYSpec(
            [r["month"] for r in shown], "money", f"Revenue ({ctx.currency})", "Month",
            lines=[s.Series("Revenue", [r["revenue"] for r in shown], s.PRIMARY, width=2.2),
                   s.Series("Smoothed", [r["smoothed"] for r in shown], s.MUTED, dash="3 3",
                            width=1.5),
                   s.Series("Forecast", fc_line, s.SECONDARY, dash="6 3", width=2.2, dots=True)],
            bands=[s.Band("95% band", low, high, s.SECONDARY)], currency=ctx.currency,
            heading=SEGMENT_NAMES.get(str(segment), str(segment).replace("_", " ").capitalize()),
            width=420, height=300, label=f"buying trend {segment}")))
    return p
