"""The KPI report: every published KPI as a picture, in one self-contained HTML file.

Reads the *serving* database (read-only: what BI tools see, after every check passed) and
writes one HTML file that opens offline: Vega-Lite charts (``charts``, ``charts_flow``,
``charts_grid``), each as a static SVG and, where scripts run, drawn live with tooltips by
the inlined vega-embed (``report_page``). Where things are:

* ``report_data``: the marts, the report's period and settings, the panel registry;
* ``report_tiles``: the headline tiles;
* ``sections/``: one module per section of the page, each panel a short declaration;
* this module: the panels in page order, and the page around them.

A mart that is missing, empty or all NULL (a landing source with no data) gives a "no data"
panel, never an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb

from dagster_project.errors import MetricsError
from dagster_project.reports import charts, fmt
from dagster_project.reports.report_data import (
    Context,
    Marts,
    NoData,
    RateFormula,
    load_metric_docs,
    load_rate_formulas,
)
from dagster_project.reports.report_page import DEFAULT_PARAMS, MetricDoc, Panel, Tile, render_page
from dagster_project.reports.report_tiles import headline_tiles
from dagster_project.reports.sections import SECTIONS

TITLE = "Product KPI report"
PANELS = [spec for section in SECTIONS for spec in section]  # in page order
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
    drawn_ahead: bool = False  # from a draft drawn before the publish (write_report)

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
    rates: Mapping[str, RateFormula] | None = None,
) -> Report:
    """The report from an open (read-only) connection to a serving database; ``metrics``
    (:func:`load_metric_docs` of the published semantic manifest) name the KPIs and make
    the appendix's metric definitions; ``rates`` (:func:`load_rate_formulas` of the same
    manifest) let the page's filters slice the rates by the semantic layer's definitions."""
    info = _build_info(Marts.open(con))
    draft = draw_report(con, info, currency=currency, params=params, metrics=metrics,
                        rates=rates)
    return finish_report(draft, info, source_label=source_label)


@dataclass
class Draft:
    """A report's drawn part (its panels, tiles and the range control, every chart sent to
    be drawn), possibly from marts not yet published (defs/reports/ahead.py):
    :func:`finish_report` makes the page once the build that published them is known
    (``ops.build_info``: the time of the publish, the run, the version). ``drawn_for``:
    what the drawing read besides the marts (:func:`draw_inputs`)."""

    panels: list[Panel]
    tiles: list[Tile]
    overview: object
    currency: str
    as_of: dt.date | None
    period: dt.date | None
    period_quarter: dt.date | None
    month_to_date: dt.date | None
    params: dict[str, object]
    metrics: list[MetricDoc]
    scorecard_counts: dict[str, int]
    off_track: list[str]
    drawn_for: tuple[object, ...]  # draw_inputs() of what it was drawn from

    def fits(self, info: Mapping[str, str], currency: str | None,
             params: Mapping[str, object] | None, metrics: Sequence[MetricDoc],
             rates: Mapping[str, RateFormula] | None) -> bool:
        """Whether this draft is what :func:`draw_report` would draw for these arguments
        (from the same marts)."""
        return self.drawn_for == draw_inputs(info, currency, params, metrics, rates)


def draw_inputs(info: Mapping[str, str], currency: str | None,
                params: Mapping[str, object] | None, metrics: Sequence[MetricDoc],
                rates: Mapping[str, RateFormula] | None) -> tuple[object, ...]:
    """What a drawing reads besides the marts: the build info's as-of date and currency,
    the currency and parameters asked for, the semantic layer's metrics and rates."""
    return (info.get("as_of_date"), info.get("reporting_currency"), currency,
            sorted((k, repr(v)) for k, v in (params or {}).items()), list(metrics),
            sorted((rates or {}).items()))


def draw_report(
    con: duckdb.DuckDBPyConnection,
    info: Mapping[str, str],
    *,
    currency: str | None = None,
    params: Mapping[str, object] | None = None,
    metrics: Sequence[MetricDoc] = (),
    rates: Mapping[str, RateFormula] | None = None,
) -> Draft:
    """The report's panels and tiles from the marts of ``con`` (a serving database, or the
    working warehouse before it publishes them), for the build info ``info`` (its as-of
    date and reporting currency; the rest is only shown by :func:`finish_report`)."""
    import altair as alt

    from dagster_project.compat import check, lean_chart_copies

    check(["altair"])
    lean_chart_copies()
    # Altair checks every chart object against the Vega-Lite schema as it is made (its
    # "debug mode": ~0.2 s a report); the tests check every finished spec instead
    # (charts.schema_errors).
    with alt.utils.schemapi.debug_mode(False):
        return _draw_report(con, info, currency=currency, params=params, metrics=metrics,
                            rates=rates)


def _draw_report(
    con: duckdb.DuckDBPyConnection,
    info: Mapping[str, str],
    *,
    currency: str | None,
    params: Mapping[str, object] | None,
    metrics: Sequence[MetricDoc],
    rates: Mapping[str, RateFormula] | None,
) -> Draft:
    marts = Marts.open(con)
    # The currency the data was published in wins over today's settings.
    cur = info.get("reporting_currency") or currency or "USD"
    merged = {**DEFAULT_PARAMS, **(params or {})}
    ctx = Context(marts, cur, _as_of(marts, info), merged,
                  metrics={d.name: d for d in metrics}, rates=dict(rates or {}))
    panels = build_panels(ctx)
    tiles = headline_tiles(ctx)
    try:  # the month range control: a strip of MRR to brush across
        saas = ctx.saas()
        overview = charts.range_overview([r["month"] for r in saas], [r["mrr_end"] for r in saas],
                                         label="MRR by month: drag to choose the months shown")
    except NoData:
        overview = None
    return Draft(
        panels, tiles, overview, cur, ctx.as_of, ctx.period, ctx.period_quarter,
        ctx.month_to_date, merged, list(metrics),
        dict(ctx.cache.get("scorecard_counts") or {}),  # type: ignore[call-overload]
        list(ctx.cache.get("off_track") or []),  # type: ignore[call-overload]
        draw_inputs(info, currency, params, metrics, rates),
    )


def finish_report(draft: Draft, info: Mapping[str, str], *, source_label: str = "") -> Report:
    """The page of ``draft`` for the published build ``info`` (its ``ops.build_info``)."""
    cur = draft.currency
    as_of_text = f"{draft.as_of.day} {fmt.month_label(draft.as_of)}" if draft.as_of else "unknown"
    meta = [f"Data through <b>{escape(as_of_text)}</b>"]
    if draft.period is not None:
        # one period rule for the whole page
        rule = (f"figures for <b>{escape(fmt.month_label(draft.period))}</b>, the last complete "
                "month")
        if draft.period_quarter is not None:
            rule += f" (quarterly targets: {escape(fmt.quarter_label(draft.period_quarter))})"
        if draft.month_to_date is not None:
            rule += f"; {escape(fmt.month_label(draft.month_to_date))} to date drawn lighter, apart"
        meta.append(rule)
    meta.append(f"amounts in {escape(cur)}")
    if info.get("published_at"):
        meta.append(f"published {escape(info['published_at'].replace('T', ' '))} UTC")
    if info.get("reporting_timezone"):
        meta.append(f"days in {escape(info['reporting_timezone'])}")
    panels = draft.panels
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
        tiles=draft.tiles,
        panels=panels,
        params=draft.params,
        footer=footer,
        metrics=draft.metrics,
        overview=draft.overview,
    )
    return Report(html, panels, draft.tiles, dict(info), cur, draft.as_of,
                  dict(draft.scorecard_counts), list(draft.off_track))


def write_report(
    serving_path: Path,
    out_path: Path,
    *,
    currency: str | None = None,
    params: Mapping[str, object] | None = None,
    semantic_manifest: Path | None = None,
    draft: Draft | None = None,
) -> Report:
    """Render the report of the serving database at ``serving_path`` into ``out_path``
    (written beside and renamed over, so a reader never sees half a file), naming and
    defining the KPIs by the metrics of ``semantic_manifest`` (the one published with it).
    ``draft``: the report already drawn from the marts this database was published from
    (a build's, defs/reports/ahead.py), used when it was drawn for what was published and
    asked for here (``Draft.fits``: the as-of date, the currencies, the parameters, the
    semantic layer); otherwise the report is drawn here."""
    serving_path, out_path = Path(serving_path), Path(out_path)
    if not serving_path.exists():
        raise MetricsError(
            f"no serving database at {serving_path}: run `product-metrics build` first"
        )
    metrics = load_metric_docs(semantic_manifest)
    rates = load_rate_formulas(semantic_manifest)
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        info = _build_info(Marts.open(con))
        ahead = draft is not None and draft.fits(info, currency, params, metrics, rates)
        if draft is None or not ahead:
            draft = draw_report(con, info, currency=currency, params=params,
                                metrics=metrics, rates=rates)
        report = finish_report(draft, info, source_label=serving_path.name)
        report.drawn_ahead = ahead
    finally:
        con.close()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    tmp.write_text(report.html, encoding="utf-8")
    os.replace(tmp, out_path)
    report.path = out_path
    return report
