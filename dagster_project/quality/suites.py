"""Expectation suites as plain JSON files in ``expectations/`` (Great Expectations 1.x format).

A suite is ``{"name", "meta", "expectations": [{"type", "kwargs", "meta", "severity"}]}``,
loadable with ``gx.ExpectationSuite(**suite)``; kwargs may hold ``{"$PARAMETER": name}``
values, supplied at validation time. Our conventions live in ``meta``:

- suite ``meta.asset_key`` / ``meta.table``: the Dagster asset and warehouse table it guards;
  ``meta.key``: the identity columns (chunks of a big table are cut by a hash of them);
  ``meta.never_read``: personal columns no expectation may read. Landing suites also carry
  ``meta.row_time`` (the day of a row, for volume), ``meta.volume`` and
  ``meta.references``.
- expectation ``meta.frame``: what it is validated on: ``rows`` (the rows, the default),
  ``distinct:<column>`` (the column's distinct values), ``references:<column>`` (the
  distinct ids with the id found in the referenced source) or ``daily_volume`` (rows per
  day against the days before); ``meta.history``: how its parameters come from earlier
  batches; ``meta.rule``: the rule in words.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from dagster_project.settings import EXPECTATIONS_DIR

FRAME_ROWS = "rows"

Suite = dict[str, Any]
Expectation = dict[str, Any]


def landing_suite_name(source: str) -> str:
    return f"raw_{source}"


def mart_suite_name(table: str) -> str:
    return f"marts_{table}"


def suite_path(name: str, suites_dir: Path | None = None) -> Path:
    return (suites_dir or EXPECTATIONS_DIR) / f"{name}.json"


def load_suite(name_or_path: str | Path, suites_dir: Path | None = None) -> Suite:
    """A suite by name (``raw_invoices``) or path, as the JSON dict."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = suite_path(str(name_or_path), suites_dir)
    with path.open(encoding="utf-8") as f:
        suite = json.load(f)
    suite.setdefault("meta", {})
    suite.setdefault("expectations", [])
    return suite


def suite_names(prefix: str = "", suites_dir: Path | None = None) -> list[str]:
    folder = suites_dir or EXPECTATIONS_DIR
    return sorted(p.stem for p in folder.glob(f"{prefix}*.json"))


def frame_of(expectation: Expectation) -> str:
    return (expectation.get("meta") or {}).get("frame", FRAME_ROWS)


def severity_of(expectation: Expectation) -> str:
    return str(expectation.get("severity") or "critical")


def select(suite: Suite, frame: str = FRAME_ROWS) -> Suite:
    """A copy of the suite holding only the expectations of one frame."""
    part = copy.deepcopy(suite)
    part["expectations"] = [e for e in part["expectations"] if frame_of(e) == frame]
    return part


def condition_text(condition: Any) -> str:
    """A structured GX row condition as short text: ``survey == 'nps'``."""
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(condition_text(c) for c in condition.get("conditions", []))
    name = (condition.get("column") or {}).get("name")
    if kind == "nullity":
        return f"{name} is {'null' if condition.get('is_null') else 'not null'}"
    return f"{name} {condition.get('operator')} {condition.get('parameter')!r}"


def column_label(expectation: Expectation) -> str | None:
    kw = expectation.get("kwargs", {})
    if "column" in kw:
        label = str(kw["column"])
    elif "column_A" in kw:
        label = f"{kw['column_A']} >= {kw['column_B']}" if kw.get("or_equal") else (
            f"{kw['column_A']} > {kw['column_B']}")
    elif "column_list" in kw:
        label = ", ".join(kw["column_list"])
    else:
        return None
    if kw.get("row_condition"):
        label += f" where {condition_text(kw['row_condition'])}"
    return label


def condition_columns(condition: Any) -> list[str]:
    """Columns named by a structured GX row condition (nullity/comparison/and/or)."""
    if not isinstance(condition, dict):
        return []
    if condition.get("type") in ("and", "or"):
        return [c for part in condition.get("conditions", []) for c in condition_columns(part)]
    column = condition.get("column")
    return [column["name"]] if isinstance(column, dict) and "name" in column else []


def needed_columns(suite: Suite, extra: tuple[str, ...] = ()) -> list[str]:
    """Every column the suite's expectations read, in first-use order."""
    seen: list[str] = []

    def add(name: str) -> None:
        if name not in seen:
            seen.append(name)

    for e in suite["expectations"]:
        kw = e.get("kwargs", {})
        for key in ("column", "column_A", "column_B"):
            if key in kw:
                add(kw[key])
        for name in [*kw.get("column_list", []), *kw.get("column_set", [])]:
            add(name)
        for name in condition_columns(kw.get("row_condition")):
            add(name)
    for name in extra:
        add(name)
    return seen
