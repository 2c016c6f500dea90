"""The unit-economics section: CAC, LTV:CAC and CAC payback per complete month."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dagster_project.reports import charts as s
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, Section, need
from dagster_project.reports.report_page import Panel

SECTION = Section("unit-economics")


def _monthly(ctx: Context, column: str, what: str, kind: str, y_title: str, label: str, *,
             line: bool = False, colour_of: Callable[[float | None], str] | None = None,
             refs: Sequence[s.Ref] = ()) -> s.Figure:
    """One small chart of a saas_metrics_monthly column over the complete months: bars
    (coloured by ``colour_of``), or a line."""
    rows = ctx.complete_saas()
    values = [r[column] for r in rows]
    need(values, what)
    series = [s.Series("", values, s.PRIMARY, dots=line)]
    return s.xy_chart(s.XYSpec(
        [r["month"] for r in rows], kind, y_title, "Month", lines=series if line else (),
        bars=() if line else series, refs=refs, currency=ctx.currency, width=430, height=280,
        bar_colours=[colour_of(v) for v in values] if colour_of else None, label=label))


@SECTION.panel("cac", "CAC", "def-cac", "saas_metrics_monthly", "third")
def panel_cac(ctx: Context, p: Panel) -> Panel:
    p.units = f"{ctx.currency} per new customer"
    p.definition = "All sales and marketing spend of the month / new customers."
    p.svgs.append(_monthly(ctx, "cac", "CAC", "money", f"CAC ({ctx.currency})", "CAC"))
    return p


@SECTION.panel("ltv-cac", "LTV:CAC", "def-ltv-cac", "saas_metrics_monthly", "third")
def panel_ltv_cac(ctx: Context, p: Panel) -> Panel:
    p.units = "Lifetime value per unit of CAC (×)"
    p.definition = "LTV (ARPA × margin / churn) over CAC; 3× or more is the usual aim."
    p.svgs.append(_monthly(ctx, "ltv_to_cac", "LTV:CAC", "ratio", "LTV:CAC (×)", "LTV to CAC",
                           line=True, refs=[s.Ref(3.0, "3×", s.GOOD)]))
    return p


@SECTION.panel("payback", "CAC payback", "def-payback", "saas_metrics_monthly", "third")
def panel_payback(ctx: Context, p: Panel) -> Panel:
    p.units = "Months of gross margin to repay CAC"
    p.definition = ("CAC / (new MRR per new customer × gross margin); under 12 months is the "
                    "usual bar.")
    p.svgs.append(_monthly(
        ctx, "cac_payback_months", "CAC payback", "months", "Payback (months)", "CAC payback",
        refs=[s.Ref(12.0, "12 mo", s.INK)],
        colour_of=lambda x: s.GOOD if not fmt.is_missing(x) and x <= 12 else s.BAD))
    return p
