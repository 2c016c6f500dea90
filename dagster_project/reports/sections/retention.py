"""The retention section: customers and their movements (sliced by the page's filters),
logo and net MRR churn, NRR and GRR, the quick ratio, and customer cohorts. Rates are
drawn for complete months only: a month to date would mislead."""

from __future__ import annotations

import math
from collections.abc import Sequence

from dagster_project.reports import charts as s
from dagster_project.reports import charts_grid as grid
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData, Section, need
from dagster_project.reports.report_page import Panel

SECTION = Section("retention")
QUICK_RATIO_CAP = 10.0


def rate_lines(ctx: Context, columns: list[tuple[str, str, str]], kind: str, y_title: str,
               what: str, label: str, **options: object) -> s.Figure:
    """A line per (column, name, colour) of saas_metrics_monthly, complete months only."""
    rows = ctx.complete_saas()
    values = [[r[column] for r in rows] for column, _, _ in columns]
    need([v for series in values for v in series], what)
    lines = [s.Series(name, v, colour, dots=True)
             for (_, name, colour), v in zip(columns, values, strict=True)]
    return s.xy_chart(s.XYSpec([r["month"] for r in rows], kind, y_title, "Month", lines=lines,
                               label=label, **options))  # type: ignore[arg-type]


def _sliceable(ctx: Context, months: list, columns: list[tuple[str, str, str]]
               ) -> tuple[list[s.SlicedRate], list] | None:
    """The rates of ``columns`` (metric, name, colour) by the semantic layer's formulas and
    marts.mrr_movements_monthly's rows of ``months``; None without a formula or that mart."""
    formulas = [ctx.rates.get(metric) for metric, _, _ in columns]
    if None in formulas:
        return None
    try:
        rows = ctx.slices(months)
    except NoData:
        return None
    return [s.SlicedRate(name, colour, f.columns, f.expr)  # type: ignore[union-attr]
            for (_, name, colour), f in zip(columns, formulas, strict=True)], rows


def sliced_rates(ctx: Context, columns: list[tuple[str, str, str]], kind: str, y_title: str,
                 what: str, label: str, *, refs: Sequence[s.Ref] = (),
                 include_zero: bool = True) -> s.Figure:
    """The rates of ``columns`` (metric, name, colour) over the complete months, computed
    per filter choice from marts.mrr_movements_monthly by the semantic layer's formulas;
    the plain lines of saas_metrics_monthly where a formula or that mart is missing."""
    rows = ctx.complete_saas()
    need([r[metric] for r in rows for metric, _, _ in columns], what)
    months = [r["month"] for r in rows]
    found = _sliceable(ctx, months, columns)
    if found is None:
        return rate_lines(ctx, columns, kind, y_title, what, label, refs=list(refs),
                          include_zero=include_zero)
    rates, sliced = found
    return s.sliced_rate_chart(months, rates, sliced, dims=s.FILTERS,
                               kind=kind, unit=y_title, x_title="Month", refs=refs,
                               include_zero=include_zero, currency=ctx.currency, label=label)


def cohort_chart(ctx: Context, mart: str, size: str, value: str, *, source: str,
                 x_title: str, label: str) -> s.Figure:
    """The heatmap of a cohort mart: per cohort month and months since start, the cohort's
    ``size`` and its ``value``. ``source``: the landing sources the mart is made from."""
    rows = ctx.read(mart, f"cohort_month, months_since_start, {size}, {value}",
                    order="cohort_month, months_since_start", source=source)
    return cohort_heatmap(rows, value, size, x_title=x_title, label=label)


def cohort_heatmap(rows: list[dict], value: str, size: str, *, x_title: str, label: str
                   ) -> s.Figure:
    """Cohorts (rows, with their size) by months since start (columns), coloured from the
    smallest value rounded down to 10% (more contrast where retention stays high), never
    from above 50%."""
    cohorts = sorted({r["cohort_month"] for r in rows})
    width = max(r["months_since_start"] for r in rows) + 1
    index = {c: i for i, c in enumerate(cohorts)}
    matrix: list[list[float | None]] = [[None] * width for _ in cohorts]
    sizes = [""] * len(cohorts)
    for r in rows:
        matrix[index[r["cohort_month"]]][r["months_since_start"]] = r[value]
        sizes[index[r["cohort_month"]]] = fmt.count(r[size])
    values = [v for row in matrix for v in row if not fmt.is_missing(v)]
    lo = min(0.5, math.floor(min(values, default=0.0) * 10) / 10)
    return grid.heatmap_chart([fmt.month_tick(c) for c in cohorts], [str(k) for k in range(width)],
                              matrix, x_title=x_title, y_title="Cohort", lo=lo, sizes=sizes,
                              label=label)


@SECTION.panel("customers", "Customers", "def-customers",
               "saas_metrics_monthly mrr_movements_monthly")
def panel_customers(ctx: Context, p: Panel) -> Panel:
    months = [r["month"] for r in ctx.saas()]
    p.units = ("Top: active customers at month end. Bottom: customers gained and lost in the "
               "month (count)")
    p.definition = "Active = MRR above 0; new and reactivated customers up, churned down."
    active, new, back, lost = ctx.sliced(
        months, "customers_end", "new_customers", "reactivated_customers", "-churned_customers")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("Active customers", s.PRIMARY, active)], dims=s.FILTERS,
        kind="count", unit="Customers", mode="line", height=190, label="active customers"))
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("New", s.GOOD, new), s.SlicedSeries("Reactivated", s.GOOD_LIGHT, back),
                 s.SlicedSeries("Churned", s.BAD, lost)],
        dims=s.FILTERS, kind="count", unit="Customers", x_title="Month", faded=ctx.faded(months),
        height=200, label="customer movements"))
    p.note = ctx.mtd_note(months)
    return p


# The rate panels below are declarations of one shape (rate_lines): they differ in their text.
@SECTION.panel("churn", "Logo churn and net MRR churn", "def-churn",
               "saas_metrics_monthly mrr_movements_monthly")
def panel_churn(ctx: Context, p: Panel) -> Panel:
    p.units = "% per month (complete months)"
    p.definition = ("Churned customers / customers at the start; net MRR churn nets expansion "
                    "against losses (below 0 is good).")
    p.svgs.append(sliced_rates(
        ctx, [("logo_churn_rate", "Logo churn rate", s.BAD),
              ("net_mrr_churn_rate", "Net MRR churn rate", s.SECONDARY)],
        "fraction", "Rate per month", "churn rate", "churn rates"))
    return p


@SECTION.panel("nrr", "Net and gross revenue retention", "def-nrr",
               "saas_metrics_monthly mrr_movements_monthly")
def panel_nrr(ctx: Context, p: Panel) -> Panel:
    p.units = "% of start-of-month MRR kept (complete months)"
    p.definition = ("MRR kept from customers active at the start; NRR counts their expansion, "
                    "GRR caps each at its start.")
    p.svgs.append(sliced_rates(
        ctx, [("net_revenue_retention", "NRR", s.PRIMARY),
              ("gross_revenue_retention", "GRR", s.SECONDARY)],
        "fraction", "Retention", "revenue retention", "NRR and GRR",
        refs=[s.Ref(1.0, "100%")], include_zero=False))
    return p


@SECTION.panel("quick-ratio", "SaaS quick ratio", "def-quick-ratio",
               "saas_metrics_monthly mrr_movements_monthly")
def panel_quick_ratio(ctx: Context, p: Panel) -> Panel:
    rows = ctx.complete_saas()
    q = [r["quick_ratio"] for r in rows]
    need(q, "quick ratio")
    finite = sorted(v for v in q if not fmt.is_missing(v))
    # Above 4 is healthy whatever the value: keep 0-10 readable and cut the rare huge months.
    cap = QUICK_RATIO_CAP if finite and finite[-1] > QUICK_RATIO_CAP else None
    p.units = "Gained MRR per unit of lost MRR (×), complete months"
    p.definition = ("(New + expansion + reactivation) / (churn + contraction): above 4 healthy, "
                    "below 2 churn eats growth.")
    refs = [s.Ref(4.0, "4×", s.GOOD), s.Ref(2.0, "2×", s.WARN)]
    bands = [(4.0, s.GOOD, "4× or more"), (2.0, s.WARN, "2–4×"), (None, s.BAD, "below 2×")]
    months = [r["month"] for r in rows]
    found = _sliceable(ctx, months, [("quick_ratio", "Quick ratio", s.GOOD)])
    if found is not None:
        # by the semantic layer's formula, for the rows the page's filters keep; a segment
        # can go past the cap where all segments together do not
        p.svgs.append(s.sliced_rate_chart(
            months, *found, dims=s.FILTERS, kind="ratio", unit="Quick ratio (×)", x_title="Month", refs=refs,
            bands=bands, cap=QUICK_RATIO_CAP, currency=ctx.currency, label="quick ratio"))
        p.note = (f"Bars above {fmt.ratio(QUICK_RATIO_CAP)} are cut at the top, their value "
                  "written inside.")
        return p
    colours = [s.BAD if fmt.is_missing(v) or v < 2 else s.WARN if v < 4 else s.GOOD for v in q]
    p.svgs.append(s.xy_chart(s.XYSpec(
        months, "ratio", "Quick ratio (×)", "Month", bars=[s.Series("", q, s.GOOD)],
        bar_colours=colours, y_cap=cap, label="quick ratio", refs=refs,
        extra=[(name, colour) for _, colour, name in bands])))
    if cap is not None:
        p.note = f"Bars above {fmt.ratio(cap)} are cut at the top, their value written inside."
    return p


# Of one shape with product's user cohorts (cohort_chart): they differ in mart and text.
@SECTION.panel("customer-cohorts", "Customer cohorts: logo retention", "def-customer-cohorts",
               "customer_cohorts_monthly", "full")
def panel_customer_cohorts(ctx: Context, p: Panel) -> Panel:
    p.units = "% of each cohort's customers still active, by months since their first month"
    p.definition = ("Rows: the month customers first paid (size = customers); cells: % still "
                    "active at the end of month k.")
    p.svgs.append(cohort_chart(ctx, "customer_cohorts_monthly", "cohort_customers",
                               "logo_retention", source="subscription_events",
                               x_title="Months since start", label="customer cohorts"))
    return p
