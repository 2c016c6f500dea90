"""The revenue section: MRR and its monthly waterfall, the MRR bridge of the report's
month, ARR, MRR by plan tier. The MRR, waterfall and ARR charts carry
``marts.mrr_movements_monthly``'s rows, so the page's filters slice them by segment, region
and acquisition channel; MRR by plan tier carries ``marts.mrr_by_plan_monthly``'s, so the
plan filter slices it."""

from __future__ import annotations

from dagster_project.reports import charts as s
from dagster_project.reports import charts_flow as flow
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData, Section
from dagster_project.reports.report_page import Panel

SECTION = Section("revenue")
WATERFALL_MONTHS = 12  # months of the MRR waterfall (the MRR line shows every month)
# Losses are drawn below zero: the waterfall's columns, with a minus for those.
WATERFALL_COLUMNS = [f"-{k}_mrr" if k in ("contraction", "churned") else f"{k}_mrr"
                     for k, _ in s.MOVEMENTS]


@SECTION.panel("mrr", "MRR and what moved it", "def-mrr def-mrr-movements",
               "saas_metrics_monthly mrr_movements_monthly", "full")
def panel_mrr(ctx: Context, p: Panel) -> Panel:
    p.units = (f"Top: MRR at month end ({ctx.currency}), every month. Bottom: the movements of "
               f"the last {WATERFALL_MONTHS} months ({ctx.currency} of MRR), a waterfall per month")
    p.definition = ("Each month, gains (green) step up from zero and losses (red) step down; "
                    "the black tick is net new MRR.")
    months = [r["month"] for r in ctx.saas()]
    (mrr,) = ctx.sliced(months, "mrr_end")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("MRR", s.PRIMARY, mrr)], dims=s.FILTERS, kind="money",
        unit=f"MRR ({ctx.currency})", currency=ctx.currency, faded=ctx.faded(months),
        width=1240, height=210, label="MRR at month end"))
    recent = months[-WATERFALL_MONTHS:]  # the bars above keep the history
    moved = ctx.sliced(recent, *WATERFALL_COLUMNS)
    p.svgs.append(s.sliced_chart(
        recent, [s.SlicedSeries(name, s.MOVEMENT_COLOURS[k], values)
                 for (k, name), values in zip(s.MOVEMENTS, moved, strict=True)],
        dims=s.FILTERS, kind="money", unit=f"Movement ({ctx.currency})", x_title="Month",
        mode="waterfall", net="Net new MRR", currency=ctx.currency, faded=ctx.faded(recent),
        width=1240, height=290, label="monthly MRR waterfall"))
    p.note = ctx.mtd_note(months)
    return p


@SECTION.panel("mrr-bridge", "MRR bridge", "def-mrr-movements",
               "saas_metrics_monthly mrr_movements_monthly")
def panel_bridge(ctx: Context, p: Panel) -> Panel:
    r = (ctx.complete(ctx.saas()) or ctx.saas())[-1]
    p.title = f"MRR bridge, {fmt.month_label(r['month'])}"
    p.units = f"{ctx.currency} of MRR, from the start of the month to its end"
    p.definition = "Start MRR plus the month's gains, minus its losses, is end MRR, to the cent."
    columns = ["mrr_start", *WATERFALL_COLUMNS, "mrr_end"]
    steps = [flow.Step("Start", "total", s.PRIMARY_LIGHT),
             *(flow.Step("Churn" if k == "churned" else name, colour=s.MOVEMENT_COLOURS[k])
               for k, name in s.MOVEMENTS),
             flow.Step("End", "total", s.PRIMARY)]
    try:  # the month's rows by segment, region and channel
        month_rows = [(dims, row) for _, dims, row in ctx.slices([r["month"]])]
    except NoData:  # an older serving database
        month_rows = []
    dims = s.FILTERS if month_rows else ()
    month_rows = month_rows or [({}, r)]  # else the month's totals
    values = [[(d, -row[c[1:]] if c.startswith("-") else row[c]) for d, row in month_rows]
              for c in columns]
    p.svgs.append(flow.waterfall_chart(
        steps, values, dims=dims, unit=f"MRR ({ctx.currency})",
        currency=ctx.currency, width=700, height=300, label="MRR bridge"))
    return p


@SECTION.panel("arr", "ARR", "def-arr", "saas_metrics_monthly mrr_movements_monthly")
def panel_arr(ctx: Context, p: Panel) -> Panel:
    months = [r["month"] for r in ctx.saas()]
    p.units = f"{ctx.currency} per year, at month end"
    p.definition = "Annual recurring revenue: 12 × MRR at the end of each month."
    (arr,) = ctx.sliced(months, "arr_end")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("ARR", s.PRIMARY, arr)], dims=s.FILTERS, kind="money",
        unit=f"ARR ({ctx.currency})", x_title="Month", currency=ctx.currency,
        faded=ctx.faded(months), label="ARR"))
    p.note = ctx.mtd_note(months)
    return p


@SECTION.panel("mrr-by-plan", "MRR by plan tier", "def-mrr-by-plan", "mrr_by_plan_monthly",
               "full")
def panel_mrr_by_plan(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("mrr_by_plan_monthly", "month, plan_name, tier, mrr_end",
                    order="month, tier, plan_name", source="subscription_events")
    months = sorted({r["month"] for r in rows})
    index = {m: i for i, m in enumerate(months)}
    # the largest tier at the foot of each stack (by MRR in the last month), 'unknown' on top
    last = {r["tier"]: 0.0 for r in rows}
    for r in rows:
        if r["month"] == months[-1]:
            last[r["tier"]] += float(r["mrr_end"])
    tiers = sorted(last, key=lambda t: (t == "unknown", -last[t], t))
    p.units = f"{ctx.currency} of MRR at month end, stacked by the plans' tier"
    p.definition = ("Each subscription under the plan of its state at the month's end; the "
                    "tiers add up to MRR.")
    p.svgs.append(s.sliced_chart(
        months,
        [s.SlicedSeries(tier.replace("_", " ").capitalize(), s.CATEGORICAL[k % len(s.CATEGORICAL)],
                        [(index[r["month"]], {"plan": r["plan_name"]}, r["mrr_end"])
                         for r in rows if r["tier"] == tier])
         for k, tier in enumerate(tiers)],
        dims=("plan",), kind="money", unit=f"MRR ({ctx.currency})", x_title="Month",
        currency=ctx.currency, faded=ctx.faded(months), width=1240, height=260,
        label="MRR by plan tier"))
    p.note = ctx.mtd_note(months)
    return p
