"""Small, engine-neutral results of a suite run: what failed, how badly, and an example.

Both engines (Great Expectations on a pandas frame, and the SQL push-down of landing
suites) return a :class:`SuiteResult`, so the Dagster checks and the build summary read
one shape.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

SAMPLE_SIZE = 5
SEVERITIES = ("critical", "warning", "info")


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a value coming out of numpy, pandas or DuckDB."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (AttributeError, TypeError, ValueError):
            pass
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    text = str(value)
    return None if text in {"<NA>", "NaT", "nan"} else text


def short(value: Any, width: int = 40) -> str:
    text = repr(plain(value)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict."""

    type: str
    column: str | None  # "a", "a, b" (compound) or "a vs b" (column pair); None for tables
    severity: str  # critical | warning | info
    success: bool
    observed: Any = None  # observed_value, or the unexpected count for map expectations
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_sample: tuple[Any, ...] = ()
    error: str | None = None  # the expectation could not be evaluated
    where: str | None = None  # an example location (landing file and line) when known

    @property
    def name(self) -> str:
        return f"{self.type}({self.column})" if self.column else self.type

    @property
    def counts(self) -> bool:
        """Whether a failure here fails the check (info expectations only report)."""
        return self.severity in ("critical", "warning")

    def summary(self) -> str:
        """`name: 3 unexpected, e.g. 'x'` in a few words."""
        if self.error:
            return f"{self.name}: could not be evaluated ({self.error})"
        parts = []
        if self.unexpected_count is not None:
            parts.append(f"{self.unexpected_count} unexpected")
        elif self.observed is not None:
            parts.append(f"observed {short(self.observed)}")
        if self.unexpected_sample:
            parts.append("e.g. " + ", ".join(short(v, 30) for v in self.unexpected_sample[:2]))
        if self.where:
            parts.append(f"at {self.where}")
        return self.name + (": " + ", ".join(parts) if parts else "")

    def as_dict(self) -> dict[str, Any]:
        """Every field, in order (``type`` as ``expectation``), the observed values plain."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["observed"] = plain(self.observed)
        values["unexpected_sample"] = [plain(v) for v in self.unexpected_sample]
        return {"expectation": values.pop("type"), **values}


def merge_outcomes(parts: Sequence[ExpectationOutcome]) -> ExpectationOutcome:
    """One outcome from the same expectation run on several chunks of a table."""
    first = parts[0]
    if len(parts) == 1:
        return first
    counts = [p.unexpected_count for p in parts]
    elements = [p.element_count for p in parts]
    sample: list[Any] = []
    for p in parts:
        sample.extend(v for v in p.unexpected_sample if v not in sample)
    unexpected = sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    return replace(
        first,
        success=all(p.success for p in parts),
        observed=unexpected if unexpected is not None else next(
            (p.observed for p in parts if not p.success), first.observed
        ),
        unexpected_count=unexpected,
        element_count=sum(e for e in elements if e is not None) if any(
            e is not None for e in elements) else None,
        unexpected_sample=tuple(sample[:SAMPLE_SIZE]),
        error=next((p.error for p in parts if p.error), None),
        where=next((p.where for p in parts if p.where), None),
    )


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of a suite (or of the part of it a check runs) on one table or frame."""

    suite: str
    target: str  # what was validated, e.g. "raw.invoices"
    outcomes: tuple[ExpectationOutcome, ...]
    rows: int | None = None
    engine: str = "great_expectations"
    seconds: float | None = None
    note: str | None = None  # e.g. "table not built yet"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.counts]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def worst_severity(self) -> str | None:
        """``critical`` if any critical expectation failed, else ``warning``, else None."""
        severities = {o.severity for o in self.failed}
        for level in ("critical", "warning"):
            if level in severities:
                return level
        return None

    @property
    def description(self) -> str:
        """One line naming what failed on what (the build summary prints it)."""
        n = len(self.outcomes)
        rows = f" on {self.rows:,} rows" if self.rows is not None else ""
        if self.note and not self.outcomes:
            return f"{self.target}: {self.note}"
        if self.passed:
            text = f"{self.target}: all {n} expectations passed{rows}"
            return text + (f" ({self.note})" if self.note else "")
        failed = self.failed
        ordered = sorted(failed, key=lambda o: SEVERITIES.index(o.severity))
        head = f"{self.target}: {len(failed)} of {n} expectations failed{rows} ({self.worst_severity})"
        details = "; ".join(o.summary() for o in ordered[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        return one_line(f"{head}: {details}{more}")

    def failures_markdown(self) -> str:
        rows = [
            (o.severity, o.name, o.unexpected_count if o.unexpected_count is not None else "",
             o.error or ", ".join(short(v, 30) for v in o.unexpected_sample)
             or (short(o.observed) if o.unexpected_count is None else ""),
             o.where or "")
            for o in sorted(self.failed, key=lambda o: SEVERITIES.index(o.severity))
        ]
        return markdown_table(("severity", "expectation", "unexpected", "sample", "where"), rows)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [o.as_dict() for o in self.outcomes]


def one_line(text: str, width: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _cell(value: Any) -> str:
    text = "" if value is None else str(plain(value) if not isinstance(value, str) else value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
