"""The KPI report: every published KPI as a picture, in one self-contained HTML file.

Reads the *serving* database (read-only: what BI tools see, after every check passed) and
writes one HTML file that opens offline: Vega-Lite charts (``charts``, ``charts_flow``,
``charts_grid``), each as a static SVG and, where scripts run, drawn live with tooltips by
the inlined vega-embed (``report_page``). A mart that
is missing, empty or all NULL (a landing source with no data) gives a "no data" panel, never
an error. The marts are small aggregates: DuckDB reads them, Python only lays them out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb

from dagster_project.errors import MetricsError
from dagster_project.reports import charts as s
from dagster_project.reports import charts_flow as flow
from dagster_project.reports import charts_grid as grid
from dagster_project.reports import fmt
from dagster_project.reports.report_page import (
    DEFAULT_PARAMS,
    MetricDoc,
    Panel,
    Tile,
    render_page,
)

TITLE = "Product KPI report"
# KPI names and definitions come from the semantic layer's metrics (the semantic manifest
# that the build publishes beside the serving database): one name and one definition per
# KPI in the scorecard, the tiles, the appendix, `product-metrics query` and BI tools.
QUICK_RATIO_CAP = 10.0
WATERFALL_MONTHS = 12  # months of the MRR waterfall (the MRR line shows every month)
# The buying trend's forecast band is drawn within [0, BAND_CAP x the highest month shown]:
# revenue is never negative, and a band wider than that says only "very uncertain".
BAND_CAP = 1.5
SEGMENT_NAMES = {
    "smb": "SMB",
    "mid_market": "Mid-market",
    "enterprise": "Enterprise",
    "unknown": "Unknown",
}
STATUS_ORDER = {"off_track": 0, "at_risk": 1, "on_track": 2, "no_data": 3}
STATUS_LABEL = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "No data",
}


class NoData(Exception):
    """A panel has nothing to show; the message says why, in words for its reader."""


@dataclass
class Marts:
    """Read access to the serving database's ``marts`` schema."""

    con: duckdb.DuckDBPyConnection
    tables: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> Marts:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('marts', 'ops')"
        ).fetchall()
        return cls(con, {r[0] for r in rows})

    def rows(
        self, table: str, sql: str, params: Sequence[object] = (), *, source: str
    ) -> list[dict]:
        """Rows of ``sql`` (which reads ``table``) as dicts; NoData when the table is missing
        or the query returns nothing. ``source`` names the landing data it comes from."""
        if table not in self.tables:
            raise NoData(f"{table} is not in the serving database (run a build).")
        try:
            result = self.con.execute(sql, list(params))
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise NoData(
                f"{table} lacks a column this chart needs ({str(exc).splitlines()[0]})."
            ) from None
        names = [d[0] for d in result.description]
        out = [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        if not out:
            raise NoData(f"{table} has no rows: {source} has no data yet.")
        return out


def load_metric_docs(path: Path | None) -> list[MetricDoc]:
    """The metrics of a semantic manifest (name, label, description), by name; [] when
    there is none (a serving database published before the semantic layer) or it cannot
    be read. The JSON is read as it is: ``semantic.SemanticLayer.metrics`` gives the same
    through MetricFlow, whose import every build would then pay for three fields."""
    if path is None or not Path(path).is_file():
        return []
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        return sorted(
            (MetricDoc(str(m["name"]), str(m.get("label") or m["name"]),
                       str(m.get("description") or "")) for m in manifest.get("metrics", [])),
            key=lambda d: d.name)
    except (OSError, ValueError, KeyError, TypeError):
        return []


@dataclass
class Context:
    marts: Marts
    currency: str
    as_of: dt.date | None
    params: Mapping[str, object]
    cache: dict[str, object] = field(default_factory=dict)
    metrics: Mapping[str, MetricDoc] = field(default_factory=dict)

    def kpi_name(self, kpi: str) -> str:
        """The KPI's label in the semantic layer (its name, readable, without one)."""
        doc = self.metrics.get(kpi)
        return doc.label if doc else kpi.replace("_", " ").capitalize()

    def kpi_html(self, kpi: str) -> str:
        """The KPI's label, linked to its definition in the appendix when it has one."""
        name = escape(self.kpi_name(kpi))
        return f'<a href="#metric-{escape(kpi)}">{name}</a>' if kpi in self.metrics else name

    def month_end(self, month: dt.date) -> dt.date:
        nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)

    def partial(self, month: dt.date) -> bool:
        """The as-of month, when the as-of date is not its last day (month to date)."""
        return self.as_of is not None and self.as_of < self.month_end(month) and month <= self.as_of

    def faded(self, months: Sequence[dt.date]) -> frozenset[int]:
        """Indexes of the month-to-date months, which charts draw lighter."""
        return frozenset(i for i, m in enumerate(months) if self.partial(m))

    def sliced(self, months: Sequence[dt.date], *columns: str
               ) -> list[list[tuple[int, dict[str, str], float]]]:
        """Per column, its values by month (index into ``months``) and by segment, region
        and acquisition channel (marts.mrr_movements_monthly: they sum to
        saas_metrics_monthly), for the charts the page's filters slice. Without that mart
        (an older serving database) the month's totals, with no dimension values."""
        if "sliced" not in self.cache:
            try:
                self.cache["sliced"] = self.marts.rows(
                    "marts.mrr_movements_monthly",
                    "select *, acquisition_channel as channel from marts.mrr_movements_monthly "
                    "order by month, segment, region, acquisition_channel",
                    source="the landing source subscription_events")
            except NoData:
                self.cache["sliced"] = [{**r, "segment": None, "region": None, "channel": None}
                                        for r in self.saas()]
        index = {m: i for i, m in enumerate(months)}
        out: list[list[tuple[int, dict[str, str], float]]] = []
        for column in columns:
            sign = -1.0 if column.startswith("-") else 1.0
            name = column.removeprefix("-")
            out.append([
                (index[r["month"]], {d: r[d] for d in s.FILTERS}, sign * r[name])
                for r in self.cache["sliced"]  # type: ignore[union-attr]
                if r["month"] in index and not fmt.is_missing(r[name])
            ])
        return out

    def saas(self) -> list[dict]:
        if "saas" not in self.cache:
            try:
                self.cache["saas"] = self.marts.rows(
                    "marts.saas_metrics_monthly",
                    "select * from marts.saas_metrics_monthly order by month",
                    source="the landing source subscription_events",
                )
            except NoData as exc:
                self.cache["saas"] = exc
        value = self.cache["saas"]
        if isinstance(value, NoData):
            raise value
        return value  # type: ignore[return-value]

    @property
    def period(self) -> dt.date | None:
        """The month the headline figures and the scorecard show: the last complete month
        (the as-of month itself when the as-of date is its last day). None without an
        as-of date (then each series shows its own latest month)."""
        if self.as_of is None:
            return None
        first = self.as_of.replace(day=1)
        if not self.partial(first):
            return first
        return (first - dt.timedelta(days=1)).replace(day=1)

    @property
    def month_to_date(self) -> dt.date | None:
        """The as-of month when it is not complete (drawn apart, never a headline)."""
        if self.as_of is None:
            return None
        first = self.as_of.replace(day=1)
        return first if self.partial(first) else None

    @property
    def period_quarter(self) -> dt.date | None:
        """The last complete quarter up to the report's month (its first day)."""
        month = self.period
        if month is None:
            return None
        def quarter_start(day: dt.date) -> dt.date:
            return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)

        start = quarter_start(month)
        if month.month % 3 == 0:  # the quarter's last month is complete
            return start
        return quarter_start(start - dt.timedelta(days=1))  # the quarter before

    def upto_period(self, rows: list[dict], key: str = "month") -> list[dict]:
        """The rows of the report's month and before (all rows without an as-of date)."""
        month = self.period
        return rows if month is None else [r for r in rows if r[key] <= month]

    def complete(self, rows: list[dict], key: str = "month") -> list[dict]:
        return [r for r in rows if not self.partial(r[key])]

    def complete_saas(self) -> list[dict]:
        """Complete months of saas_metrics_monthly: rates of a month to date would mislead."""
        rows = self.complete(self.saas())
        if not rows:
            raise NoData("no complete month yet: rates are drawn once a whole month is in.")
        return rows

    def mtd_note(self, months: Sequence[dt.date]) -> str | None:
        if months and self.partial(months[-1]) and self.as_of:
            return (
                f"{fmt.month_label(months[-1])} is month to date (through "
                f"{self.as_of.day} {fmt.month_label(self.as_of)}), drawn lighter."
            )
        return None

    def target(self, kpi: str, grain: str = "month") -> float | None:
        """The latest target of a KPI in the scorecard (for a reference line), if any."""
        if "marts.kpi_scorecard" not in self.marts.tables:
            return None
        row = self.marts.con.execute(
            "select target from marts.kpi_scorecard where kpi = ? and grain = ? "
            "and target is not null order by period_start desc limit 1",
            [kpi, grain],
        ).fetchone()
        return None if row is None else float(row[0])


def _need(values: Sequence[object], what: str) -> None:
    if all(fmt.is_missing(v) for v in values):
        raise NoData(f"every {what} is empty (NULL): the data it needs has not landed.")


def _money_unit(ctx: Context, per: str = "") -> str:
    return f"{ctx.currency}{per}"


# ------------------------------------------------------------------------------ tiles


def _delta_pct(now: float | None, before: float | None) -> str:
    if fmt.is_missing(now) or fmt.is_missing(before) or not before:
        return ""
    d = (now - before) / abs(before)
    return f" ({'+' if d >= 0 else ''}{fmt.pct(d)})"


def headline_tiles(ctx: Context) -> list[Tile]:
    tiles: list[Tile] = []
    try:
        saas = ctx.saas()
    except NoData:
        saas = []
    # The report's month; with no complete month yet, the month to date, labelled so.
    saas = ctx.upto_period(saas) or saas
    if saas:
        last = saas[-1]
        as_of = (
            f"{fmt.month_label(last['month'])} to date ({ctx.as_of.day} {fmt.month_label(ctx.as_of)})"
            if ctx.partial(last["month"]) and ctx.as_of
            else f"end of {fmt.month_label(last['month'])}"
        )
        spark = [r["mrr_end"] for r in saas[-12:]]
        change = last["mrr_end"] - last["mrr_start"]
        tiles.append(
            Tile(
                ctx.kpi_name("mrr"),
                fmt.money(last["mrr_end"], ctx.currency),
                as_of,
                f"{fmt.signed_money(change, ctx.currency)}{_delta_pct(last['mrr_end'], last['mrr_start'])} in the month",
                change > 0 if change else None,
                s.sparkline(spark, label="MRR, last 12 months"),
                "def-mrr",
                "mrr",
                last["mrr_end"],
            )
        )
        tiles.append(
            Tile(
                ctx.kpi_name("arr"),
                fmt.money(last["arr_end"], ctx.currency),
                as_of,
                f"{fmt.signed_money(12 * change, ctx.currency)} in the month",
                change > 0 if change else None,
                s.sparkline([r["arr_end"] for r in saas[-12:]], label="ARR, last 12 months"),
                "def-arr",
                "arr",
                last["arr_end"],
            )
        )
        dc = last["customers_end"] - last["customers_start"]
        tiles.append(
            Tile(
                ctx.kpi_name("customers"),
                fmt.count(last["customers_end"]),
                as_of,
                f"{'+' if dc >= 0 else fmt.MINUS}{abs(dc):,} in the month",
                dc > 0 if dc else None,
                s.sparkline([r["customers_end"] for r in saas[-12:]], label="customers"),
                "def-customers",
                "customers",
                float(last["customers_end"]),
            )
        )
        done = [r for r in ctx.complete(saas)]
        if done:
            m, prev = done[-1], (done[-2] if len(done) > 1 else None)
            when = fmt.month_label(m["month"])
            for col, anchor, better_up, f in (
                ("net_revenue_retention", "def-nrr", True, fmt.pct),
                ("logo_churn_rate", "def-churn", False, fmt.pct),
                ("quick_ratio", "def-quick-ratio", True, fmt.ratio),
            ):
                label = ctx.kpi_name(col)
                now, before = m[col], prev[col] if prev else None
                if col == "quick_ratio":
                    delta = (
                        ""
                        if fmt.is_missing(now) or fmt.is_missing(before)
                        else f"{'+' if now >= before else fmt.MINUS}{abs(now - before):.1f} vs prior month"
                    )
                else:
                    delta = (
                        ""
                        if fmt.is_missing(now) or fmt.is_missing(before)
                        else f"{fmt.pct_points(now - before)} vs prior month"
                    )
                good = None if not delta or now == before else ((now > before) == better_up)
                tiles.append(
                    Tile(
                        label,
                        f(now),
                        when,
                        delta or None,
                        good,
                        s.sparkline([r[col] for r in done[-12:]], label=label),
                        anchor,
                        col,
                        now,
                    )
                )
    try:
        nps = ctx.marts.rows(
            "marts.nps_monthly",
            "select month, nps from marts.nps_monthly where nps is not null order by month",
            source="survey_responses",
        )
        done = ctx.upto_period(ctx.complete(nps))
        if not done:
            raise NoData("no complete month of NPS yet")
        m, prev = done[-1], (done[-2] if len(done) > 1 else None)
        delta = (
            None
            if prev is None
            else f"{'+' if m['nps'] >= prev['nps'] else fmt.MINUS}{abs(m['nps'] - prev['nps']):.0f} pts vs prior month"
        )
        tiles.append(
            Tile(
                ctx.kpi_name("nps"),
                fmt.score(m["nps"]),
                fmt.month_label(m["month"]),
                delta,
                None if prev is None or m["nps"] == prev["nps"] else m["nps"] > prev["nps"],
                s.sparkline([r["nps"] for r in done[-12:]], label="NPS"),
                "def-nps",
                "nps",
                m["nps"],
            )
        )
    except NoData:
        pass
    try:
        usage = ctx.marts.rows(
            "marts.product_usage_daily",
            "select cast(date_trunc('month', date) as date) as month, avg(stickiness) as stickiness, "
            "max(date) as last_day from marts.product_usage_daily group by 1 order by 1",
            source="product_events",
        )
        done = ctx.upto_period(ctx.complete(usage))
        if not done:
            raise NoData("no complete month of usage yet")
        m, prev = done[-1], (done[-2] if len(done) > 1 else None)
        delta = (
            None
            if prev is None or fmt.is_missing(prev["stickiness"])
            else f"{fmt.pct_points(m['stickiness'] - prev['stickiness'])} vs prior month"
        )
        tiles.append(
            Tile(
                ctx.kpi_name("dau_mau"),
                fmt.pct(m["stickiness"]),
                fmt.month_label(m["month"]) + " average",
                delta,
                None if prev is None or delta is None else m["stickiness"] > prev["stickiness"],
                s.sparkline([r["stickiness"] for r in done[-12:]], label="stickiness"),
                "def-stickiness",
                "stickiness",
                m["stickiness"],
            )
        )
    except NoData:
        pass
    return tiles


# ------------------------------------------------------------------------------ panels


@dataclass(frozen=True)
class PanelSpec:
    """What a panel is before it is drawn: enough for a "no data" panel in its place."""

    key: str
    build: Callable[[Context, Panel], Panel]
    section: str
    title: str
    anchors: tuple[str, ...]
    sources: tuple[str, ...]
    size: str

    def blank(self) -> Panel:
        return Panel(
            self.key,
            self.section,
            self.title,
            "",
            "",
            list(self.anchors),
            self.size,
            sources=list(self.sources),
        )


PANELS: list[PanelSpec] = []  # in report order, filled by @panel


def panel(key: str, section: str, title: str, anchors: str, sources: str, size: str = "half"):
    """Register a panel builder: it gets the blank panel and fills in units, definition and
    charts (and a title with the period), or raises NoData. ``anchors`` and ``sources`` are
    space-separated definition anchors and marts."""

    def register(build: Callable[[Context, Panel], Panel]) -> Callable[[Context, Panel], Panel]:
        PANELS.append(
            PanelSpec(
                key, build, section, title, tuple(anchors.split()), tuple(sources.split()), size
            )
        )
        return build

    return register


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
    from dagster_project.reports.scorecard import attainment_text

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


@panel(
    "scorecard",
    "scorecard",
    "KPI scorecard: where we stand against target",
    "def-scorecard",
    "kpi_scorecard",
    "full",
)
def panel_scorecard(ctx: Context, p: Panel) -> Panel:
    from dagster_project.reports.scorecard import period_rows, scorecard_rows

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


@panel(
    "mrr",
    "revenue",
    "MRR and what moved it",
    "def-mrr def-mrr-movements",
    "saas_metrics_monthly mrr_movements_monthly",
    "full",
)
def panel_mrr(ctx: Context, p: Panel) -> Panel:
    p.units = (f"Top: MRR at month end ({ctx.currency}), every month. Bottom: the movements of "
               f"the last {WATERFALL_MONTHS} months ({ctx.currency} of MRR), a waterfall per month")
    p.definition = "Each month, gains (green) step up from zero and losses (red) step down; the black tick is net new MRR."
    rows = ctx.saas()
    months = [r["month"] for r in rows]
    faded = ctx.faded(months)
    (mrr,) = ctx.sliced(months, "mrr_end")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("MRR", s.PRIMARY, mrr)], dims=s.FILTERS, kind="money",
        unit=f"MRR ({ctx.currency})", currency=ctx.currency, faded=faded, width=1240,
        height=210, label="MRR at month end"))
    # the waterfall: the last WATERFALL_MONTHS months (the bars above keep the history)
    recent = months[-WATERFALL_MONTHS:]
    columns = [f"-{k}_mrr" if k in ("contraction", "churned") else f"{k}_mrr" for k, _ in s.MOVEMENTS]
    moved = ctx.sliced(recent, *columns)
    p.svgs.append(s.sliced_chart(
        recent,
        [s.SlicedSeries(name, s.MOVEMENT_COLOURS[k], values)
         for (k, name), values in zip(s.MOVEMENTS, moved, strict=True)],
        dims=s.FILTERS, kind="money", unit=f"Movement ({ctx.currency})", x_title="Month",
        mode="waterfall", net="Net new MRR", currency=ctx.currency, faded=ctx.faded(recent),
        width=1240, height=290, label="monthly MRR waterfall"))
    p.note = ctx.mtd_note(months)
    return p


@panel("mrr-bridge", "revenue", "MRR bridge", "def-mrr-movements", "saas_metrics_monthly")
def panel_bridge(ctx: Context, p: Panel) -> Panel:
    rows = ctx.complete(ctx.saas()) or ctx.saas()
    r = rows[-1]
    p.title = f"MRR bridge, {fmt.month_label(r['month'])}"
    p.units = f"{ctx.currency} of MRR, from the start of the month to its end"
    p.definition = "Start MRR plus the month's gains, minus its losses, is end MRR, to the cent."
    steps = [
        flow.Step("Start", r["mrr_start"], "total", s.PRIMARY_LIGHT),
        flow.Step("New", r["new_mrr"], colour=s.MOVEMENT_COLOURS["new"]),
        flow.Step("Expansion", r["expansion_mrr"], colour=s.MOVEMENT_COLOURS["expansion"]),
        flow.Step("Reactivation", r["reactivation_mrr"], colour=s.MOVEMENT_COLOURS["reactivation"]),
        flow.Step("Contraction", -r["contraction_mrr"], colour=s.MOVEMENT_COLOURS["contraction"]),
        flow.Step("Churn", -r["churned_mrr"], colour=s.MOVEMENT_COLOURS["churned"]),
        flow.Step("End", r["mrr_end"], "total", s.PRIMARY),
    ]
    p.svgs.append(
        flow.waterfall_chart(
            steps,
            unit=f"MRR ({ctx.currency})",
            currency=ctx.currency,
            width=700,
            height=300,
            label="MRR bridge",
        )
    )
    return p


@panel("arr", "revenue", "ARR", "def-arr", "saas_metrics_monthly mrr_movements_monthly")
def panel_arr(ctx: Context, p: Panel) -> Panel:
    rows = ctx.saas()
    months = [r["month"] for r in rows]
    p.units = f"{ctx.currency} per year, at month end"
    p.definition = "Annual recurring revenue: 12 × MRR at the end of each month."
    (arr,) = ctx.sliced(months, "arr_end")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("ARR", s.PRIMARY, arr)], dims=s.FILTERS, kind="money",
        unit=f"ARR ({ctx.currency})", x_title="Month", currency=ctx.currency,
        faded=ctx.faded(months), label="ARR"))
    p.note = ctx.mtd_note(months)
    return p


@panel("customers", "retention", "Customers", "def-customers",
       "saas_metrics_monthly mrr_movements_monthly")
def panel_customers(ctx: Context, p: Panel) -> Panel:
    rows = ctx.saas()
    months = [r["month"] for r in rows]
    faded = ctx.faded(months)
    p.units = (
        "Top: active customers at month end. Bottom: customers gained and lost in the month (count)"
    )
    p.definition = "Active = MRR above 0; new and reactivated customers up, churned down."
    active, new, back, lost = ctx.sliced(
        months, "customers_end", "new_customers", "reactivated_customers", "-churned_customers")
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("Active customers", s.PRIMARY, active)], dims=s.FILTERS,
        kind="count", unit="Customers", mode="line", height=190, label="active customers"))
    p.svgs.append(s.sliced_chart(
        months, [s.SlicedSeries("New", s.GOOD, new), s.SlicedSeries("Reactivated", s.GOOD_LIGHT, back),
                 s.SlicedSeries("Churned", s.BAD, lost)],
        dims=s.FILTERS, kind="count", unit="Customers", x_title="Month", faded=faded,
        height=200, label="customer movements"))
    p.note = ctx.mtd_note(months)
    return p


@panel("churn", "retention", "Logo churn and net MRR churn", "def-churn", "saas_metrics_monthly")
def panel_churn(ctx: Context, p: Panel) -> Panel:
    rows = ctx.complete_saas()
    months = [r["month"] for r in rows]
    p.units = "% per month (complete months)"
    p.definition = "Churned customers / customers at the start; net MRR churn nets expansion against losses (below 0 is good)."
    logo = [r["logo_churn_rate"] for r in rows]
    net = [r["net_mrr_churn_rate"] for r in rows]
    _need(logo + net, "churn rate")
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "fraction",
                "Rate per month",
                "Month",
                lines=[
                    s.Series("Logo churn rate", logo, s.BAD, dots=True),
                    s.Series("Net MRR churn rate", net, s.SECONDARY, dots=True),
                ],
                label="churn rates",
            )
        )
    )
    return p


@panel("nrr", "retention", "Net and gross revenue retention", "def-nrr", "saas_metrics_monthly")
def panel_nrr(ctx: Context, p: Panel) -> Panel:
    rows = ctx.complete_saas()
    months = [r["month"] for r in rows]
    nrr = [r["net_revenue_retention"] for r in rows]
    grr = [r["gross_revenue_retention"] for r in rows]
    _need(nrr + grr, "revenue retention")
    p.units = "% of start-of-month MRR kept (complete months)"
    p.definition = "MRR kept from customers active at the start; NRR counts their expansion, GRR caps each at its start."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "fraction",
                "Retention",
                "Month",
                lines=[
                    s.Series("NRR", nrr, s.PRIMARY, dots=True),
                    s.Series("GRR", grr, s.SECONDARY, dots=True),
                ],
                refs=[s.Ref(1.0, "100%")],
                include_zero=False,
                label="NRR and GRR",
            )
        )
    )
    return p


@panel("quick-ratio", "retention", "SaaS quick ratio", "def-quick-ratio", "saas_metrics_monthly")
def panel_quick_ratio(ctx: Context, p: Panel) -> Panel:
    rows = ctx.complete_saas()
    months = [r["month"] for r in rows]
    q = [r["quick_ratio"] for r in rows]
    _need(q, "quick ratio")
    finite = sorted(v for v in q if not fmt.is_missing(v))
    # Above 4 is healthy whatever the value: keep 0-10 readable and cut the rare huge months.
    cap = QUICK_RATIO_CAP if finite and finite[-1] > QUICK_RATIO_CAP else None
    colours = [
        s.GOOD
        if not fmt.is_missing(v) and v >= 4
        else s.WARN
        if not fmt.is_missing(v) and v >= 2
        else s.BAD
        for v in q
    ]
    p.units = "Gained MRR per unit of lost MRR (×), complete months"
    p.definition = "(New + expansion + reactivation) / (churn + contraction): above 4 healthy, below 2 churn eats growth."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "ratio",
                "Quick ratio (×)",
                "Month",
                bars=[s.Series("", q, s.GOOD)],
                bar_colours=colours,
                refs=[s.Ref(4.0, "4×", s.GOOD), s.Ref(2.0, "2×", s.WARN)],
                y_cap=cap,
                extra=[("4× or more", s.GOOD), ("2–4×", s.WARN), ("below 2×", s.BAD)],
                label="quick ratio",
            )
        )
    )
    if cap is not None:
        p.note = f"Bars above {fmt.ratio(cap)} are cut at the top, their value written inside."
    return p


def _heat_floor(matrix: list[list[float | None]]) -> float:
    """The colour scale's low end: the smallest value rounded down to 10% (more contrast
    where retention stays high), never above 50%."""
    values = [v for row in matrix for v in row if not fmt.is_missing(v)]
    return min(0.5, math.floor(min(values, default=0.0) * 10) / 10)


def _cohort_matrix(
    rows: list[dict], value: str, size: str
) -> tuple[list[str], list[str], list[list[float | None]], list[str]]:
    cohorts = sorted({r["cohort_month"] for r in rows})
    width = max(r["months_since_start"] for r in rows) + 1
    index = {c: i for i, c in enumerate(cohorts)}
    matrix: list[list[float | None]] = [[None] * width for _ in cohorts]
    sizes = [""] * len(cohorts)
    for r in rows:
        i = index[r["cohort_month"]]
        matrix[i][r["months_since_start"]] = r[value]
        sizes[i] = fmt.count(r[size])
    return [fmt.month_tick(c) for c in cohorts], [str(k) for k in range(width)], matrix, sizes


@panel(
    "customer-cohorts",
    "retention",
    "Customer cohorts: logo retention",
    "def-customer-cohorts",
    "customer_cohorts_monthly",
    "full",
)
def panel_customer_cohorts(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.customer_cohorts_monthly",
        "select cohort_month, months_since_start, cohort_customers, logo_retention "
        "from marts.customer_cohorts_monthly order by cohort_month, months_since_start",
        source="the landing source subscription_events",
    )
    labels, cols, matrix, sizes = _cohort_matrix(rows, "logo_retention", "cohort_customers")
    p.units = "% of each cohort's customers still active, by months since their first month"
    p.definition = "Rows: the month customers first paid (size = customers); cells: % still active at the end of month k."
    p.svgs.append(
        grid.heatmap_chart(
            labels,
            cols,
            matrix,
            x_title="Months since start",
            y_title="Cohort",
            lo=_heat_floor(matrix),
            sizes=sizes,
            label="customer cohorts",
        )
    )
    return p


def _unit_economics(ctx: Context, p: Panel, key: str) -> Panel:
    rows = ctx.complete_saas()
    months = [r["month"] for r in rows]
    if key == "cac":
        v = [r["cac"] for r in rows]
        _need(v, "CAC")
        p.units = f"{ctx.currency} per new customer"
        p.definition = "All sales and marketing spend of the month / new customers."
        p.svgs.append(
            s.xy_chart(
                s.XYSpec(
                    months,
                    "money",
                    f"CAC ({ctx.currency})",
                    "Month",
                    bars=[s.Series("", v, s.PRIMARY)],
                    currency=ctx.currency,
                    width=430,
                    height=280,
                    label="CAC",
                )
            )
        )
    elif key == "ltv-cac":
        v = [r["ltv_to_cac"] for r in rows]
        _need(v, "LTV:CAC")
        p.units = "Lifetime value per unit of CAC (×)"
        p.definition = "LTV (ARPA × margin / churn) over CAC; 3× or more is the usual aim."
        p.svgs.append(
            s.xy_chart(
                s.XYSpec(
                    months,
                    "ratio",
                    "LTV:CAC (×)",
                    "Month",
                    lines=[s.Series("", v, s.PRIMARY, dots=True)],
                    refs=[s.Ref(3.0, "3×", s.GOOD)],
                    width=430,
                    height=280,
                    label="LTV to CAC",
                )
            )
        )
    else:
        v = [r["cac_payback_months"] for r in rows]
        _need(v, "CAC payback")
        colours = [s.GOOD if not fmt.is_missing(x) and x <= 12 else s.BAD for x in v]
        p.units = "Months of gross margin to repay CAC"
        p.definition = (
            "CAC / (new MRR per new customer × gross margin); under 12 months is the usual bar."
        )
        p.svgs.append(
            s.xy_chart(
                s.XYSpec(
                    months,
                    "months",
                    "Payback (months)",
                    "Month",
                    bars=[s.Series("", v, s.PRIMARY)],
                    bar_colours=colours,
                    refs=[s.Ref(12.0, "12 mo", s.INK)],
                    width=430,
                    height=280,
                    label="CAC payback",
                )
            )
        )
    return p


@panel("cac", "unit-economics", "CAC", "def-cac", "saas_metrics_monthly", "third")
def panel_cac(ctx: Context, p: Panel) -> Panel:
    return _unit_economics(ctx, p, "cac")


@panel("ltv-cac", "unit-economics", "LTV:CAC", "def-ltv-cac", "saas_metrics_monthly", "third")
def panel_ltv_cac(ctx: Context, p: Panel) -> Panel:
    return _unit_economics(ctx, p, "ltv-cac")


@panel("payback", "unit-economics", "CAC payback", "def-payback", "saas_metrics_monthly", "third")
def panel_payback(ctx: Context, p: Panel) -> Panel:
    return _unit_economics(ctx, p, "payback")


@panel(
    "active-users",
    "product",
    "Active users: DAU, WAU, MAU",
    "def-active-users",
    "product_usage_daily",
)
def panel_active_users(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.product_usage_daily",
        "select date, dau, wau, mau from marts.product_usage_daily order by date",
        source="the landing source product_events",
    )
    days = [r["date"] for r in rows]
    p.units = "Distinct active users (count), daily"
    p.definition = "Users with an active event that day, and in the 7 and 30 days ending that day."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                days,
                "count",
                "Active users",
                "Day",
                continuous=True,
                lines=[
                    s.Series("MAU", [r["mau"] for r in rows], s.PRIMARY, width=2),
                    s.Series("WAU", [r["wau"] for r in rows], "#5b8fd1", width=1.6),
                    s.Series("DAU", [r["dau"] for r in rows], s.SECONDARY, width=1.1),
                ],
                label="DAU WAU MAU",
            )
        )
    )
    return p


@panel("stickiness", "product", "Stickiness (DAU/MAU)", "def-stickiness", "product_usage_daily")
def panel_stickiness(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.product_usage_daily",
        "select * from (select date, stickiness, avg(stickiness) over (order by date rows between "
        "6 preceding and current row) as week_mean, row_number() over (order by date) as day_number "
        "from marts.product_usage_daily) where day_number >= 30 order by date",
        source="the landing source product_events",
    )
    _need([r["stickiness"] for r in rows], "stickiness value")
    target = ctx.target("dau_mau")
    p.units = "% of the month's active users active on the day"
    p.definition = "DAU / MAU per day (light) and its 7-day mean (bold), from the first full 30-day window; dashed: the target."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                [r["date"] for r in rows],
                "fraction",
                "DAU / MAU",
                "Day",
                continuous=True,
                lines=[
                    s.Series("Daily", [r["stickiness"] for r in rows], s.PRIMARY_LIGHT, width=1),
                    s.Series("7-day mean", [r["week_mean"] for r in rows], s.PRIMARY, width=2.2),
                ],
                refs=[s.Ref(target, f"target {fmt.pct(target, 0)}", s.INK)]
                if target is not None
                else [],
                label="stickiness",
            )
        )
    )
    return p


@panel("activation", "product", "Activation rate", "def-activation", "activation_monthly")
def panel_activation(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.activation_monthly",
        "select signup_month, users, activated_users, activation_rate "
        "from marts.activation_monthly order by signup_month",
        source="the landing sources users and product_events",
    )
    _need([r["activation_rate"] for r in rows], "activation rate")
    months = [r["signup_month"] for r in rows]
    target = ctx.target("activation_rate")
    window = int(ctx.params.get("activation_window_days", 7))  # type: ignore[arg-type]
    p.units = "% of each sign-up month's users activated"
    p.definition = (
        f"Users who activate within {window} days of signing up / users who signed up that month."
    )
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "fraction",
                "Activated",
                "Sign-up month",
                bars=[s.Series("", [r["activation_rate"] for r in rows], s.PRIMARY)],
                refs=[s.Ref(target, f"target {fmt.pct(target, 0)}", s.INK)]
                if target is not None
                else [],
                faded=ctx.faded(months),
                label="activation",
            )
        )
    )
    note = ctx.mtd_note(months)
    p.note = note.replace("month to date", "still signing up") if note else None
    return p


@panel("funnel", "product", "AARRR funnel", "def-funnel", "funnel_monthly")
def panel_funnel(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.funnel_monthly",
        "select month, step_order, step_name, users from marts.funnel_monthly "
        "order by month, step_order",
        source="the landing source product_events",
    )
    window = int(ctx.params.get("funnel_window_days", 30))  # type: ignore[arg-type]
    months = sorted({r["month"] for r in rows})
    # The latest cohort month whose funnel window has closed, so late steps are complete.
    closed = [
        m
        for m in months
        if ctx.as_of is None or ctx.month_end(m) + dt.timedelta(days=window) <= ctx.as_of
    ]
    month = closed[-1] if closed else months[-1]
    steps = [(str(r["step_name"]), float(r["users"])) for r in rows if r["month"] == month]
    if not steps or not steps[0][1]:
        raise NoData(f"nobody entered the funnel in {fmt.month_label(month)}.")
    p.title = f"AARRR funnel, {fmt.month_label(month)} cohort"
    p.units = "Users (and anonymous visitors) reaching each step, in order"
    p.definition = f"Steps of seeds/funnel_steps.csv reached in order within {window} days; the latest cohort whose window has closed."
    p.svgs.append(grid.funnel_chart(steps, label="funnel"))
    return p


@panel(
    "user-cohorts",
    "product",
    "User cohorts: retention",
    "def-user-cohorts",
    "user_cohorts_monthly",
    "full",
)
def panel_user_cohorts(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.user_cohorts_monthly",
        "select cohort_month, months_since_start, cohort_users, user_retention "
        "from marts.user_cohorts_monthly order by cohort_month, months_since_start",
        source="the landing sources users and product_events",
    )
    labels, cols, matrix, sizes = _cohort_matrix(rows, "user_retention", "cohort_users")
    p.units = "% of each sign-up month's users active in month k"
    p.definition = (
        "Rows: sign-up month (size = users); cells: % of them active at least once in month k."
    )
    p.svgs.append(
        grid.heatmap_chart(
            labels,
            cols,
            matrix,
            x_title="Months since sign-up",
            y_title="Cohort",
            lo=_heat_floor(matrix),
            sizes=sizes,
            label="user cohorts",
        )
    )
    return p


@panel("nps", "product", "Net promoter score", "def-nps", "nps_monthly", "full")
def panel_nps(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.nps_monthly",
        "select month, responses, promoters, detractors, nps from marts.nps_monthly order by month",
        source="the landing source survey_responses",
    )
    _need([r["nps"] for r in rows], "NPS")
    months = [r["month"] for r in rows]

    def share(r: dict, col: str) -> float | None:
        return 100.0 * r[col] / r["responses"] if r["responses"] else None

    p.units = "NPS points (−100 to 100); bars: % of responses"
    p.definition = "Promoters (9–10) up, detractors (0–6) down; NPS is the difference, the line."
    target = ctx.target("nps")
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "score",
                "Points / % of responses",
                "Month",
                bars=[
                    s.Series("Promoters %", [share(r, "promoters") for r in rows], s.GOOD_LIGHT),
                    s.Series(
                        "Detractors %",
                        [
                            None if share(r, "detractors") is None else -share(r, "detractors")
                            for r in rows
                        ],
                        s.BAD_LIGHT,
                    ),
                ],
                lines=[s.Series("NPS", [r["nps"] for r in rows], s.INK, dots=True, width=2.4)],
                refs=[s.Ref(target, f"target {target:.0f}", s.PRIMARY)]
                if target is not None
                else [],
                faded=ctx.faded(months),
                width=1240,
                height=280,
                label="NPS",
            )
        )
    )
    p.note = ctx.mtd_note(months)
    return p


@panel("revenue-mix", "sales", "Revenue mix", "def-revenue-mix", "revenue_mix_monthly")
def panel_revenue_mix(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.revenue_mix_monthly",
        "select month, revenue_type, revenue from marts.revenue_mix_monthly order by month, revenue_type",
        source="the landing source invoices",
    )
    months = sorted({r["month"] for r in rows})
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["revenue_type"]] = totals.get(r["revenue_type"], 0.0) + float(r["revenue"] or 0)
    types = sorted(totals, key=lambda t: -totals[t])
    index = {m: i for i, m in enumerate(months)}
    series = []
    for k, t in enumerate(types):
        values: list[float | None] = [0.0] * len(months)
        for r in rows:
            if r["revenue_type"] == t:
                values[index[r["month"]]] = r["revenue"]
        series.append(s.Series(t.replace("_", "-"), values, s.CATEGORICAL[k % len(s.CATEGORICAL)]))
    p.units = f"Recognised revenue ({ctx.currency} per month) by type"
    p.definition = "Paid invoices in the month issued, stacked by revenue type."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "money",
                f"Revenue ({ctx.currency})",
                "Month",
                bars=series,
                currency=ctx.currency,
                faded=ctx.faded(months),
                label="revenue mix",
            )
        )
    )
    p.note = ctx.mtd_note(months)
    return p


@panel("tiers", "sales", "Customer tiers (Pareto)", "def-tiers", "customer_tiers_summary")
def panel_tiers(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.customer_tiers_summary",
        "select tier, customers, share_of_customers, revenue, share_of_revenue, churned_mrr "
        "from marts.customer_tiers_summary order by tier",
        source="the landing source invoices",
    )
    if not sum(r["customers"] or 0 for r in rows):
        raise NoData("no customer had revenue in the trailing 12 months.")
    colours = {"A": "#0b3c74", "B": "#3f7fc4", "C": "#a9c6ea"}
    by = {r["tier"]: r for r in rows}
    a = by.get("A")
    p.units = "% of customers and % of trailing-12-month revenue per tier"
    p.definition = (
        f"Tier A is {fmt.pct(a['share_of_customers'], 0)} of customers and makes "
        f"{fmt.pct(a['share_of_revenue'], 0)} of revenue."
        if a and a["share_of_customers"] is not None
        else "Customers ranked by trailing-12-month revenue."
    )
    p.svgs.append(
        grid.share_bars_chart(
            [
                (
                    "Customers",
                    [
                        (
                            f"Tier {t}",
                            float(by[t]["share_of_customers"] or 0),
                            colours.get(t, s.NEUTRAL),
                        )
                        for t in sorted(by)
                    ],
                ),
                (
                    "Revenue",
                    [
                        (
                            f"Tier {t}",
                            float(by[t]["share_of_revenue"] or 0),
                            colours.get(t, s.NEUTRAL),
                        )
                        for t in sorted(by)
                    ],
                ),
                (
                    "Churned MRR",
                    [
                        (
                            f"Tier {t}",
                            float(by[t]["churned_mrr"] or 0)
                            / (sum(float(x["churned_mrr"] or 0) for x in rows) or 1),
                            colours.get(t, s.NEUTRAL),
                        )
                        for t in sorted(by)
                    ],
                ),
            ],
            label="customer tiers",
        )
    )
    return p


@panel("bookings", "sales", "Bookings vs revenue", "def-bookings", "bookings_vs_revenue_monthly")
def panel_bookings(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.bookings_vs_revenue_monthly",
        "select month, bookings_value, revenue from marts.bookings_vs_revenue_monthly order by month",
        source="the landing sources bookings and invoices",
    )
    months = [r["month"] for r in rows]
    p.units = f"{ctx.currency} per month"
    p.definition = "Contract value signed in the month beside the revenue invoiced and paid in it."
    p.svgs.append(
        s.xy_chart(
            s.XYSpec(
                months,
                "money",
                f"{ctx.currency} per month",
                "Month",
                stacked=False,
                bars=[
                    s.Series(
                        "Bookings (contract value)",
                        [r["bookings_value"] for r in rows],
                        s.SECONDARY,
                    ),
                    s.Series("Revenue", [r["revenue"] for r in rows], s.PRIMARY),
                ],
                currency=ctx.currency,
                faded=ctx.faded(months),
                label="bookings vs revenue",
            )
        )
    )
    p.note = ctx.mtd_note(months)
    return p


@panel(
    "reps", "sales", "Quota attainment by rep", "def-attainment", "sales_rep_performance_quarterly"
)
def panel_reps(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.sales_rep_performance_quarterly",
        "select sales_rep_id, rep_name, quarter_start, bookings, quota, attainment "
        "from marts.sales_rep_performance_quarterly where quota is not null "
        "order by quarter_start",
        source="the landing source bookings and seeds/sales_quotas.csv",
    )
    quarters = sorted({r["quarter_start"] for r in rows})
    complete = [
        q
        for q in quarters
        if ctx.as_of is None or ctx.month_end(dt.date(q.year, q.month + 2, 1)) <= ctx.as_of
    ]
    quarter = complete[-1] if complete else quarters[-1]
    mine = sorted(
        (r for r in rows if r["quarter_start"] == quarter),
        key=lambda r: -(r["attainment"] if r["attainment"] is not None else -1),
    )
    values = [r["attainment"] for r in mine]
    colours = [
        s.GOOD if v is not None and v >= 1 else s.WARN if v is not None and v >= 0.8 else s.BAD
        for v in values
    ]
    p.title = f"Quota attainment by rep, {fmt.quarter_label(quarter)}"
    p.units = "% of quarterly quota booked"
    p.definition = (
        "Bookings (total contract value) / quota: green at or above quota, amber from 80%."
    )
    p.svgs.append(
        grid.hbar_chart(
            [str(r["rep_name"] or r["sales_rep_id"]) for r in mine],
            values,
            colours,
            kind="fraction",
            unit="Attainment (% of quota)",
            refs=[s.Ref(1.0, "quota", s.INK)],
            notes=[
                f"{fmt.money(r['bookings'], ctx.currency)} of {fmt.money(r['quota'], ctx.currency)}"
                for r in mine
            ],
            currency=ctx.currency,
            label="rep attainment",
        )
    )
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


@panel(
    "buying-trend",
    "sales",
    "Buying trend and forecast by segment",
    "def-buying-trend",
    "buying_trend_monthly",
    "full",
)
def panel_buying_trend(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.buying_trend_monthly",
        "select segment, month, revenue, smoothed, is_forecast, forecast, forecast_low, forecast_high "
        "from marts.buying_trend_monthly order by segment, month",
        source="the landing source invoices",
    )
    horizon = int(ctx.params.get("forecast_months", 3))  # type: ignore[arg-type]
    p.units = (f"Revenue ({ctx.currency} per month); shaded: the forecast's approximate 95% "
               f"band, drawn within 0 and {BAND_CAP:g}x the highest month shown")
    p.definition = (
        f"Complete months of revenue, their exponential smoothing, and a flat {horizon}-month "
        "forecast; the band is where a month's revenue would fall 19 times in 20 if months "
        "keep varying as they did (wider for lumpy segments: a few large invoices)."
    )
    for segment in sorted({r["segment"] for r in rows}):
        seg = [r for r in rows if r["segment"] == segment]
        history = [r for r in seg if not r["is_forecast"]][-18:]
        forecast = [r for r in seg if r["is_forecast"]]
        shown = history + forecast
        fc_line, low, high = forecast_band(history, forecast)
        p.svgs.append(
            s.xy_chart(
                s.XYSpec(
                    [r["month"] for r in shown],
                    "money",
                    f"Revenue ({ctx.currency})",
                    "Month",
                    lines=[
                        s.Series("Revenue", [r["revenue"] for r in shown], s.PRIMARY, width=2.2),
                        s.Series(
                            "Smoothed",
                            [r["smoothed"] for r in shown],
                            s.MUTED,
                            dash="3 3",
                            width=1.5,
                        ),
                        s.Series(
                            "Forecast", fc_line, s.SECONDARY, dash="6 3", width=2.2, dots=True
                        ),
                    ],
                    bands=[s.Band("95% band", low, high, s.SECONDARY)],
                    currency=ctx.currency,
                    heading=SEGMENT_NAMES.get(
                        str(segment), str(segment).replace("_", " ").capitalize()
                    ),
                    width=420,
                    height=300,
                    label=f"buying trend {segment}",
                )
            )
        )
    return p


PANEL_KEYS = [spec.key for spec in PANELS]


def build_panels(ctx: Context) -> list[Panel]:
    panels = []
    for spec in PANELS:
        blank = spec.blank()
        try:
            panels.append(spec.build(ctx, blank))
        except NoData as exc:
            panels.append(dataclasses.replace(spec.blank(), empty=str(exc)))
        except Exception as exc:  # noqa: BLE001 - one broken chart must not hide the others
            panels.append(dataclasses.replace(spec.blank(), error=f"{type(exc).__name__}: {exc}"))
    return panels


# ------------------------------------------------------------------------------ the report


@dataclass
class Report:
    html: str
    panels: list[Panel]
    tiles: list[Tile]
    build_info: dict[str, str]
    currency: str
    as_of: dt.date | None
    scorecard_counts: dict[str, int] = field(default_factory=dict)
    off_track: list[str] = field(default_factory=list)
    path: Path | None = None  # where write_report put it

    @property
    def headline_values(self) -> dict[str, float | None]:
        """The headline numbers, unrounded, by name (for the Dagster UI's plots)."""
        return {t.key: t.raw for t in self.tiles if t.key}

    @property
    def empty_panels(self) -> list[Panel]:
        return [p for p in self.panels if p.empty]

    @property
    def failed_panels(self) -> list[Panel]:
        return [p for p in self.panels if p.error]


def _build_info(marts: Marts) -> dict[str, str]:
    if "ops.build_info" not in marts.tables:
        return {}
    return {
        str(k): str(v)
        for k, v in marts.con.execute("select key, value from ops.build_info").fetchall()
    }


def _as_of(marts: Marts, info: Mapping[str, str]) -> dt.date | None:
    if info.get("as_of_date") and info["as_of_date"] != "None":
        try:
            return dt.date.fromisoformat(info["as_of_date"][:10])
        except ValueError:
            pass
    if "marts.product_usage_daily" in marts.tables:
        row = marts.con.execute("select max(date) from marts.product_usage_daily").fetchone()
        if row and row[0]:
            return row[0]
    return None


def render_report(
    con: duckdb.DuckDBPyConnection,
    *,
    currency: str | None = None,
    params: Mapping[str, object] | None = None,
    source_label: str = "",
    metrics: Sequence[MetricDoc] = (),
) -> Report:
    """The report from an open (read-only) connection to a serving database; ``metrics``
    (:func:`load_metric_docs` of the published semantic manifest) name the KPIs and make
    the appendix's metric definitions."""
    marts = Marts.open(con)
    info = _build_info(marts)
    # The currency the data was published in wins over today's settings.
    cur = info.get("reporting_currency") or currency or "USD"
    merged = {**DEFAULT_PARAMS, **(params or {})}
    ctx = Context(marts, cur, _as_of(marts, info), merged,
                  metrics={d.name: d for d in metrics})
    panels = build_panels(ctx)
    tiles = headline_tiles(ctx)
    as_of_text = f"{ctx.as_of.day} {fmt.month_label(ctx.as_of)}" if ctx.as_of else "unknown"
    meta = [f"Data through <b>{escape(as_of_text)}</b>"]
    if ctx.period is not None:
        # one period rule for the whole page
        rule = (f"figures for <b>{escape(fmt.month_label(ctx.period))}</b>, the last complete "
                "month")
        if ctx.period_quarter is not None:
            rule += f" (quarterly targets: {escape(fmt.quarter_label(ctx.period_quarter))})"
        if ctx.month_to_date is not None:
            rule += f"; {escape(fmt.month_label(ctx.month_to_date))} to date drawn lighter, apart"
        meta.append(rule)
    meta.append(f"amounts in {escape(cur)}")
    if info.get("published_at"):
        meta.append(f"published {escape(info['published_at'].replace('T', ' '))} UTC")
    if info.get("reporting_timezone"):
        meta.append(f"days in {escape(info['reporting_timezone'])}")
    drawn = sum(p.has_chart for p in panels)
    footer = (
        f"{drawn} of {len(panels)} charts drawn from the published marts"
        + (f" of {escape(source_label)}" if source_label else "")
        + (f" · product-metrics {escape(info['version'])}" if info.get("version") else "")
        + (f" · run {escape(info['run_id'][:8])}" if info.get("run_id") else "")
        + ". Numbers are rounded for display only; the marts are exact. Every model and "
        "column, with its lineage: <a href=\"docs/static_index.html\">the dbt docs</a> "
        "beside this file (written by <code>product-metrics docs</code>); the data-quality "
        "results of the build: <a href=\"quality/index.html\">Great Expectations Data Docs</a>."
    )
    html = render_page(
        title=TITLE,
        meta_html=" · ".join(meta),
        tiles=tiles,
        panels=panels,
        params=merged,
        footer=footer,
        metrics=metrics,
    )
    return Report(
        html,
        panels,
        tiles,
        info,
        cur,
        ctx.as_of,
        dict(ctx.cache.get("scorecard_counts") or {}),  # type: ignore[call-overload]
        list(ctx.cache.get("off_track") or []),
    )  # type: ignore[call-overload]


def write_report(
    serving_path: Path,
    out_path: Path,
    *,
    currency: str | None = None,
    params: Mapping[str, object] | None = None,
    semantic_manifest: Path | None = None,
) -> Report:
    """Render the report of the serving database at ``serving_path`` into ``out_path``
    (written beside and renamed over, so a reader never sees half a file), naming and
    defining the KPIs by the metrics of ``semantic_manifest`` (the one published with it)."""
    serving_path, out_path = Path(serving_path), Path(out_path)
    if not serving_path.exists():
        raise MetricsError(
            f"no serving database at {serving_path}: run `product-metrics build` first"
        )
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        report = render_report(
            con, currency=currency, params=params, source_label=serving_path.name,
            metrics=load_metric_docs(semantic_manifest),
        )
    finally:
        con.close()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    tmp.write_text(report.html, encoding="utf-8")
    os.replace(tmp, out_path)
    report.path = out_path
    return report
