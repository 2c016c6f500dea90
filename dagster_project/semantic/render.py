"""Printing the semantic layer's answers: an aligned table for people, CSV and JSON for
programs, and the metric catalog (``--list``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import textwrap
from collections.abc import Sequence
from typing import Any

from dagster_project.semantic.layer import MetricInfo, QueryResult


def _cell(value: Any) -> str:
    """A value for the table: money-sized numbers with thousands separators and cents,
    small ones (rates, ratios, scores) with four decimals, NULL as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == 0:
            return "0"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4f}"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def table(result: QueryResult) -> str:
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(result.columns)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in result.rows)
               and any(row[i] is not None for row in result.rows)
               for i in range(len(result.columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(result.columns), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    if not result.rows:
        out.append("(no rows: nothing published for these metrics and periods)")
    return "\n".join(out)


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v
                         for v in row])
    return buffer.getvalue()


def to_json(result: QueryResult) -> str:
    return json.dumps(result.to_records(), default=str, indent=1)


def catalog(metrics: Sequence[MetricInfo], width: int = 96) -> str:
    """Every metric: name, label, what it can be grouped by, and its definition."""
    out = []
    for m in metrics:
        by = ", ".join(m.dimensions) if m.dimensions else "time only"
        out.append(f"{m.name}  ({m.label}; by {by})")
        out.append(textwrap.fill(m.description, width=width, initial_indent="    ",
                                 subsequent_indent="    "))
    return "\n".join(out)
