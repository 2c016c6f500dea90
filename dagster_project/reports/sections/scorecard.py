"""The scorecard section: every KPI target of the report's month and last complete quarter
(``marts.kpi_scorecard``), worst first, with attainment bars and the month to date apart."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from dagster_project.reports import charts as s
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData, Section
from dagster_project.reports.report_page import Panel
from dagster_project.reports.scorecard import attainment_text, period_rows, scorecard_rows

SECTION = Section("scorecard")
STATUS_ORDER = {"off_track": 0, "at_risk": 1, "on_track": 2, "no_data": 3}
STATUS_LABEL = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "No data",
}


def bullet(attainment: float | None, colour: str, text: str) -> str:
    """Attainment as a bar on 0..150% with a tick at 100% (the target); above 150% the bar
    is full and ``text`` (the figure) says how far."""
    fill = ""
    if not fmt.is_missing(attainment):
        width = max(0.0, min(1.5, float(attainment))) / 1.5 * 100  # type: ignore[arg-type]
        fill = (f'<span class="fill" style="width:{width:.1f}%;background:{colour}" '
                f'title="attainment {escape(text)}"></span>')
    return f'<span class="bullet">{fill}<span class="tick"></span></span>'


def _period_text(r: Mapping[str, object]) -> str:
    start = r["period_start"]
    return fmt.quarter_label(start) if r["grain"] == "quarter" else fmt.month_label(start)  # type: ignore[arg-type]


def _scorecard_table(ctx: Context, name: str, rows: list[dict], css: str = "scorecard") -> str:
    periods = [_period_text(r) for r in rows]
    usual = max(sorted(set(periods)), key=periods.count)
    out = [
        (
            f'<table class="{css}"><caption>{escape(name)} · {escape(usual)}</caption><thead><tr>'
            '<th>KPI</th><th class="num">Actual</th><th class="num">Target</th><th colspan="2">Attainment</th>'
            '<th>Status</th><th class="num">Change</th></tr></thead><tbody>'
        )
    ]
    for r, period in zip(rows, periods, strict=True):
        unit = r.get("unit")
        status = str(r["status"])
        colour = s.STATUS_COLOURS.get(status, s.NEUTRAL)
        sign = {"lower_is_better": "≤ ", "higher_is_better": "≥ "}.get(str(r.get("direction")), "")
        kpi = ctx.kpi_html(str(r["kpi"]))
        if period != usual:
            kpi += f' <span class="period">{escape(period)}</span>'
        out.append(
            f'<tr><td>{kpi}</td><td class="num"><b>{escape(fmt.value(r["actual"], unit, ctx.currency))}</b></td>'
            f'<td class="num">{escape(sign + fmt.value(r["target"], unit, ctx.currency))}</td>'
            f"<td>{bullet(r['attainment'], colour, attainment_text(r['attainment']))}</td>"
            f'<td class="num">{escape(attainment_text(r["attainment"]))}</td>'
            f'<td><span class="pill {escape(status)}">{escape(STATUS_LABEL.get(status, status))}</span></td>'
            f'<td class="num">{escape(fmt.change(r["change"], unit, ctx.currency))}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


@SECTION.panel("scorecard", "KPI scorecard: where we stand against target", "def-scorecard",
               "kpi_scorecard", "full")
def panel_scorecard(ctx: Context, p: Panel) -> Panel:
    if "marts.kpi_scorecard" not in ctx.marts.tables:
        raise NoData("marts.kpi_scorecard is not in the serving database (run a build).")
    con = ctx.marts.con
    month, quarter, to_date = ctx.period, ctx.period_quarter, ctx.month_to_date
    if month is not None:
        # the report's period: its month, and the last complete quarter
        rows = period_rows(con, "month", month)
        quarterly = period_rows(con, "quarter", quarter) if quarter is not None else []
        rows += quarterly
        p.units = (f"Targets of {fmt.month_label(month)}"
                   + (f" and {fmt.quarter_label(quarter)}" if quarterly and quarter else "")
                   + " (the report's period); worst first")
        if not rows:
            raise NoData(f"no KPI targets for {fmt.month_label(month)}"
                         + (f" or {fmt.quarter_label(quarter)}" if quarter else "")
                         + ": add rows to seeds/kpi_targets.csv.")
        partial = [r for r in period_rows(con, "month", to_date) if r["status"] != "no_data"
                   ] if to_date is not None else []
    else:
        rows, partial = scorecard_rows(con, None), []
        p.units = "Latest period of each KPI with an actual; worst first"
        if not rows:
            raise NoData("no KPI targets: add rows to seeds/kpi_targets.csv.")
    p.definition = (
        "Status of every target in seeds/kpi_targets.csv; the bar is attainment (100% = on "
        "target, more = better, whichever way the KPI points), the tick is 100%; n/m where the "
        "actual and the target lie on either side of zero."
    )
    rows.sort(
        key=lambda r: (
            STATUS_ORDER.get(str(r["status"]), 9),
            -(r["attainment"] or 0) if r["status"] == "on_track" else (r["attainment"] or 0),
            str(r["kpi"]),
        )
    )
    counts = {k: sum(1 for r in rows if r["status"] == k) for k in STATUS_ORDER}
    ctx.cache["scorecard_counts"] = counts
    ctx.cache["off_track"] = [
        f"{ctx.kpi_name(str(r['kpi']))} ({_period_text(r)})"
        for r in rows
        if r["status"] == "off_track"
    ]
    # status summary: one stacked bar of the counts (each status' share of the targets)
    bar = "".join(
        f'<span class="{status}" style="flex:{counts[status]}" title="{STATUS_LABEL[status]}: '
        f'{counts[status]}">{counts[status]} {STATUS_LABEL[status].lower()}</span>'
        for status in ("on_track", "at_risk", "off_track", "no_data") if counts.get(status)
    )
    summary = " · ".join(
        f"{counts[k]} {STATUS_LABEL[k].lower()}" for k in STATUS_ORDER if counts.get(k)
    )
    head = f'<div class="summary"><div class="status-bar" role="img" aria-label="status counts">{bar}</div><span>{escape(summary)} of {sum(counts.values())} targets</span></div>'
    tables = []
    for grain, name in (("month", "Monthly targets"), ("quarter", "Quarterly targets")):
        mine = [r for r in rows if r["grain"] == grain and r["status"] != "no_data"]
        if mine:
            tables.append(_scorecard_table(ctx, name, mine))
    if partial:
        # the month to date, apart and lighter: not final, not in the counts above
        tables.append(_scorecard_table(
            ctx, "To date, not final", sorted(partial, key=lambda r: str(r["kpi"])),
            css="scorecard mtd"))
    lines = ['<div class="scorecards">', *tables, "</div>"]
    waiting = [r for r in rows if r["status"] == "no_data"]
    if waiting:
        # targets whose KPI has no actual yet (a future period, or a source with no data)
        names = ", ".join(
            f"{ctx.kpi_name(str(r['kpi']))} ({_period_text(r)})" for r in waiting
        )
        lines.append(
            f'<p class="waiting"><span class="pill no_data">No data</span> no actual yet for: {escape(names)}</p>'
        )
    p.html = head + "".join(lines)
    return p
