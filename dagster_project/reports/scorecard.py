"""The KPI scorecard as a terminal table (``product-metrics scorecard``).

Reads ``marts.kpi_scorecard`` from the serving database. ``period``: ``YYYY-MM`` shows the
monthly targets of that month, ``YYYY-Qn`` the quarterly targets of that quarter, None
the latest period of each KPI and grain that has an actual (else its latest target).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import duckdb

from dagster_project.errors import MetricsError

TABLE = "marts.kpi_scorecard"

# status -> (symbol, label, ANSI colour)
STATUS_STYLE = {
    "on_track": ("✔", "on_track", "\033[32m"),
    "at_risk": ("▲", "at_risk", "\033[33m"),
    "off_track": ("✖", "off_track", "\033[31m"),
    "no_data": ("·", "no_data", "\033[2m"),
}
STATUS_ORDER = ["on_track", "at_risk", "off_track", "no_data"]
RESET = "\033[0m"
BOLD = "\033[1m"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


def parse_period(period: str) -> tuple[str, dt.date]:
    """'YYYY-MM' -> ('month', first day); 'YYYY-Qn' -> ('quarter', first day)."""
    text = period.strip()
    m = _MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return "month", dt.date(int(m.group(1)), int(m.group(2)), 1)
    q = _QUARTER.match(text)
    if q:
        return "quarter", dt.date(int(q.group(1)), 3 * int(q.group(2)) - 2, 1)
    raise MetricsError(f"scorecard --period: {period!r} is not YYYY-MM or YYYY-Qn (e.g. 2025-06, 2025-Q2)")


def period_label(grain: str, start: dt.date) -> str:
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


# unit -> a value of it for display (fractions as %, money with separators); other units
# show two decimals.
_VALUE_TEXT: dict[str | None, Callable[[float], str]] = {
    "fraction": lambda v: f"{v * 100:.1f}%",
    "money": lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}",
    "count": lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}",
    "percent": lambda v: f"{v:.1f}%",
    "months": lambda v: f"{v:.1f} mo",
    "score": lambda v: f"{v:.1f}",
}
# A change of a rate is in percentage points: the points in one unit of the rate.
_POINTS_PER_UNIT = {"fraction": 100, "percent": 1}


def format_value(value: float | None, unit: str | None) -> str:
    """A number for display, by unit (fractions as %, money with separators)."""
    if value is None:
        return "—"
    return _VALUE_TEXT.get(unit, lambda v: f"{v:,.2f}")(value)


# Attainment above this is shown as "> 200%" (and a bar drawn full): the KPI beat its
# target many times over, and the exact multiple says little.
ATTAINMENT_SHOWN_UP_TO = 2.0


def attainment_text(attainment: float | None) -> str:
    """Attainment as a reader takes it: 100% = on target, more = better than target.

    "n/m" (not meaningful, as finance tables say) when it is negative: the actual and the
    target lie on either side of zero (a net MRR churn of +0.4% against a target of -1%),
    so their ratio says nothing; the status compares them directly. "—" with no actual."""
    if attainment is None:
        return "—"
    if attainment < 0:
        return "n/m"
    if attainment > ATTAINMENT_SHOWN_UP_TO:
        return f"> {ATTAINMENT_SHOWN_UP_TO * 100:.0f}%"
    if attainment != 1 and round(attainment * 100) == 100:
        # never "100%" for a KPI just short of (or past) its target: its status says so
        return f"{attainment * 100:.1f}%"
    return f"{attainment * 100:.0f}%"


def format_change(value: float | None, unit: str | None) -> str:
    if value is None:
        return "—"
    if unit in _POINTS_PER_UNIT:
        return f"{value * _POINTS_PER_UNIT[unit]:+.1f} pp"
    text = format_value(abs(value), unit)
    return ("+" if value >= 0 else "-") + text


def _rows(con: duckdb.DuckDBPyConnection, period: str | None) -> list[dict[str, object]]:
    columns = {r[0] for r in con.execute(f"describe {TABLE}").fetchall()}
    unit = "unit" if "unit" in columns else "cast(null as varchar) as unit"
    direction = "direction" if "direction" in columns else "cast(null as varchar) as direction"
    base = (
        f"select kpi, grain, period_start, actual, target, attainment, status, "
        f"previous_actual, change, {unit}, {direction} from {TABLE}"
    )
    if period is not None:
        grain, start = parse_period(period)
        sql = f"{base} where grain = ? and period_start = ? order by kpi"
        result = con.execute(sql, [grain, start])
    else:
        # Latest period with an actual per KPI and grain; a KPI with none shows its latest target.
        sql = f"""
            with card as ({base}),
            ranked as (
                select card.*, row_number() over (
                    partition by kpi, grain
                    order by case when status = 'no_data' then 1 else 0 end, period_start desc
                ) as pick
                from card
            )
            select * exclude (pick) from ranked where pick = 1
            order by case grain when 'month' then 0 else 1 end, kpi"""
        result = con.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def period_rows(con: duckdb.DuckDBPyConnection, grain: str, start: dt.date) -> list[dict[str, object]]:
    """The targets of one period (``grain`` month or quarter starting on ``start``)."""
    return _rows(con, period_label(grain, start))


def scorecard_rows(con: duckdb.DuckDBPyConnection, period: str | None = None) -> list[dict[str, object]]:
    """The scorecard's rows as dicts (see the module docstring for ``period``); the KPI report
    draws the same rows as the terminal table."""
    return _rows(con, period)


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color else text


def render_scorecard(con: duckdb.DuckDBPyConnection, period: str | None = None,
                     color: bool = True) -> str:
    """The scorecard as a table: one line per target, status at a glance, a summary line."""
    rows = _rows(con, period)
    title = "KPI scorecard" + (f" — {period.strip().upper()}" if period else " — latest period of each KPI")
    if not rows:
        where = f" for {period}" if period else ""
        return f"{title}\nNo KPI targets{where} in {TABLE} (seeds/kpi_targets.csv)."
    header = ["KPI", "Period", "Actual", "Target", "Attain.", "Status", "Previous", "Change"]
    body: list[tuple[list[str], str]] = []
    for r in rows:
        unit = r["unit"]
        target = format_value(r["target"], unit)
        if r["direction"] == "lower_is_better":
            target = "≤ " + target
        elif r["direction"] == "higher_is_better":
            target = "≥ " + target
        symbol, label, _ = STATUS_STYLE.get(str(r["status"]), ("?", str(r["status"]), ""))
        attainment = attainment_text(r["attainment"])  # type: ignore[arg-type]
        body.append(([
            str(r["kpi"]),
            period_label(str(r["grain"]), r["period_start"]),
            format_value(r["actual"], unit),
            target,
            attainment,
            f"{symbol} {label}",
            format_value(r["previous_actual"], unit),
            format_change(r["change"], unit),
        ], str(r["status"])))
    widths = [max(len(h), *(len(cells[i]) for cells, _ in body)) for i, h in enumerate(header)]
    right = {2, 3, 4, 6, 7}

    def line(cells: list[str]) -> list[str]:
        return [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]

    out = [_paint(title, BOLD, color)]
    out.append("  ".join(_paint(c, BOLD, color) for c in line(header)))
    out.append("  ".join("─" * w for w in widths))
    for cells, status in body:
        padded = line(cells)
        padded[5] = _paint(padded[5], STATUS_STYLE.get(status, ("", "", ""))[2], color)
        out.append("  ".join(padded).rstrip())
    counts = {s: sum(1 for _, st in body if st == s) for s in STATUS_ORDER}
    summary = ", ".join(
        _paint(f"{STATUS_STYLE[s][0]} {counts[s]} {s}", STATUS_STYLE[s][2], color)
        for s in STATUS_ORDER
    )
    out.append("")
    out.append(f"{len(body)} targets: {summary}")
    return "\n".join(out)
