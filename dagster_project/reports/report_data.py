"""What every part of the KPI report reads: the serving database's marts (:class:`Marts`),
the report's period and settings (:class:`Context`), the KPI names of the semantic layer
(:func:`load_metric_docs`), and the registry of panels (:class:`Section`) that the section
modules (``reports.sections``) fill.

A mart that is missing, empty or all NULL (a landing source with no data) raises
:class:`NoData` with the reason in words for the report's reader: its panel says so, and
the others are drawn. The marts are small aggregates: DuckDB reads them, Python only lays
them out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.reports import charts as s
from dagster_project.reports import fmt
from dagster_project.reports.report_page import MetricDoc, Panel


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


# The semantic model whose rows the page's filters slice (marts.mrr_movements_monthly).
SLICED_MODEL = "revenue_bridge"
_VEGA_SAFE = re.compile(r"[\w\s.+\-*/()?:=<]*")
# A denominator whose sum is below this is zero: the browser sums incrementally (it takes
# the rows a filter drops away from the sums), so a sum that is zero can come out as a
# rounding residue (1e-12); money is in cents and counts are whole, so nothing real is this
# small.
ZERO = "1e-6"


@dataclass(frozen=True)
class RateFormula:
    """A rate of the semantic layer as a formula over sums of the sliced mart's columns, so
    the page can compute it for the rows a filter keeps: ``expr`` is a Vega expression over
    ``datum.<column>`` (the sums); a zero denominator (below :data:`ZERO`) gives NaN (drawn
    as no value)."""

    name: str
    columns: tuple[str, ...]
    expr: str


def load_rate_formulas(path: Path | None) -> dict[str, RateFormula]:
    """The ratio and derived metrics of a semantic manifest that are made of plain sums of
    the sliced model's measures, by month, as :class:`RateFormula` by name; {} without a
    manifest.
    The definitions are the semantic layer's (one per KPI): the report only translates
    them into Vega's expression language."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        model = next(s for s in manifest["semantic_models"] if s["name"] == SLICED_MODEL)
        # Sums; a stock taken at the period's first or last month (a non-additive month
        # dimension) is the month's own sum at the monthly grain the charts draw.
        sums = {m["name"]: m.get("expr") or m["name"] for m in model["measures"]
                if m["agg"] == "sum"}
        metrics = {m["name"]: m for m in manifest["metrics"]}
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return {}

    def column(ref: Mapping[str, Any]) -> str | None:
        """The column summed by a plain input metric (no filter, no offset)."""
        metric = metrics.get(ref.get("name", ""))
        if (metric is None or metric["type"] != "simple" or ref.get("filter")
                or ref.get("offset_window") or ref.get("offset_to_grain") or metric.get("filter")):
            return None
        measure = metric["type_params"].get("measure") or {}
        found = sums.get(measure.get("name", ""))
        return found if found and not measure.get("filter") and re.fullmatch(r"\w+", found) else None

    out: dict[str, RateFormula] = {}
    for name, metric in metrics.items():
        params = metric["type_params"]
        if metric["type"] == "ratio":
            num, den = column(params["numerator"]), column(params["denominator"])
            if num and den:
                out[name] = RateFormula(name, (num, den), f"abs(datum.{den}) < {ZERO} ? NaN : "
                                                          f"datum.{num} / datum.{den}")
        elif metric["type"] == "derived":
            inputs = {(ref.get("alias") or ref["name"]): column(ref) for ref in params["metrics"]}
            if not inputs or None in inputs.values():
                continue
            expr = re.sub(r"\b[a-z_]\w*\b",
                          lambda m, inputs=inputs: f"datum.{inputs[m.group(0)]}"
                          if m.group(0) in inputs else m.group(0), params["expr"])
            # nullif(x, 0): NaN where x is zero (a rate with no denominator has no value)
            expr = re.sub(r"nullif\(([^()]*),\s*0\)", rf"(abs(\1) < {ZERO} ? NaN : (\1))", expr)
            names = set(re.findall(r"(?<![\w.])[A-Za-z_]\w*(?:\.\w+)?", expr))
            allowed = {"NaN", "abs", *(f"datum.{c}" for c in inputs.values())}
            if _VEGA_SAFE.fullmatch(expr) and names <= allowed:
                out[name] = RateFormula(name, tuple(sorted(set(inputs.values()))), expr)
    return out


@dataclass
class Context:
    marts: Marts
    currency: str
    as_of: dt.date | None
    params: Mapping[str, object]
    cache: dict[str, object] = field(default_factory=dict)
    metrics: Mapping[str, MetricDoc] = field(default_factory=dict)
    rates: Mapping[str, RateFormula] = field(default_factory=dict)  # sliceable rates, by name

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
        rows = self._sliced_rows()
        index = {m: i for i, m in enumerate(months)}
        out: list[list[tuple[int, dict[str, str], float]]] = []
        for column in columns:
            sign = -1.0 if column.startswith("-") else 1.0
            name = column.removeprefix("-")
            out.append([
                (index[r["month"]], {d: r[d] for d in s.FILTERS}, sign * r[name])
                for r in rows if r["month"] in index and not fmt.is_missing(r[name])
            ])
        return out

    def slices(self, months: Sequence[dt.date]
               ) -> list[tuple[int, dict[str, str], dict[str, Any]]]:
        """marts.mrr_movements_monthly's rows of ``months``: (month index, dimension values,
        the row), for rates the page's filters slice; NoData without that mart."""
        if "marts.mrr_movements_monthly" not in self.marts.tables:
            raise NoData("marts.mrr_movements_monthly is not in the serving database.")
        index = {m: i for i, m in enumerate(months)}
        return [(index[r["month"]], {d: r[d] for d in s.FILTERS}, r)
                for r in self._sliced_rows() if r["month"] in index]

    def _sliced_rows(self) -> list[dict]:
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
        return self.cache["sliced"]  # type: ignore[return-value]

    def read(self, mart: str, columns: str, *, order: str, source: str, where: str = ""
             ) -> list[dict]:
        """``columns`` of ``marts.<mart>`` (rows ``where`` holds, ordered), as dicts; NoData
        when the mart is missing or has no rows. ``source``: the landing sources it is
        made from, for that message."""
        sql = (f"select {columns} from marts.{mart}" + (f" where {where}" if where else "")
               + f" order by {order}")
        plural = "s" if " and " in source else ""
        return self.marts.rows(f"marts.{mart}", sql, source=f"the landing source{plural} {source}")

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


def need(values: Sequence[object], what: str) -> None:
    """NoData unless some value of a series is there."""
    if all(fmt.is_missing(v) for v in values):
        raise NoData(f"every {what} is empty (NULL): the data it needs has not landed.")


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
        return Panel(self.key, self.section, self.title, "", "", list(self.anchors), self.size,
                     sources=list(self.sources))


class Section(list[PanelSpec]):
    """The panels of one section of the page, in the order they are declared."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def panel(self, key: str, title: str, anchors: str, sources: str, size: str = "half"
              ) -> Callable[[Callable[[Context, Panel], Panel]], Callable[[Context, Panel], Panel]]:
        """Register a panel builder: it gets the blank panel and fills in units, definition
        and charts (and a title with the period), or raises NoData. ``anchors`` and
        ``sources`` are space-separated definition anchors and marts."""

        def register(build: Callable[[Context, Panel], Panel]) -> Callable[[Context, Panel], Panel]:
            self.append(PanelSpec(key, build, self.name, title, tuple(anchors.split()),
                                  tuple(sources.split()), size))
            return build

        return register
