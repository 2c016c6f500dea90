"""What each dbt test checks, in a sentence, for its Dagster asset check.

dagster-dbt gives a check the test's ``meta.description`` and nothing else, so generic
tests showed "No description provided". Here the sentence comes from the test itself: a
generic test's name and arguments (``unique`` on ``month``: "month is unique"), a singular
test's leading SQL comment (every file in ``dbt_models/tests`` opens with one). A test
with ``severity: warn`` says that it only warns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MAX_CHARS = 600


def _listed(values: Any) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(str(v) for v in values)
    return str(values)


def _bounds(ranges: list[Mapping[str, Any]]) -> str:
    parts = []
    for r in ranges:
        column, low, high = r.get("column"), r.get("min_value"), r.get("max_value")
        if low is not None and high is not None:
            parts.append(f"{low} <= {column} <= {high}")
        elif low is not None:
            parts.append(f"{column} >= {low}")
        elif high is not None:
            parts.append(f"{column} <= {high}")
    return "; ".join(parts)


def _continuous_periods(column: Any, kwargs: Mapping[str, Any]) -> str:
    step = kwargs.get("datepart", "month")
    per = f" (per {_listed(kwargs['partition_by'])})" if kwargs.get("partition_by") else ""
    return f"No gap in the {step} series {column}{per}: each {step} follows the last."


def _ends_by_the_as_of_period(column: Any, kwargs: Mapping[str, Any]) -> str:
    step = kwargs.get("datepart", "month")
    if kwargs.get("reaches"):
        return f"The {step} series {column} ends exactly at the as-of {step}."
    return f"The {step} series {column} never passes the as-of {step}."


def _sums_to_one(column: Any, kwargs: Mapping[str, Any]) -> str:
    by = f" per ({_listed(kwargs['group_by'])})" if kwargs.get("group_by") else ""
    return f"{column} sums to 1{by}."


def _ref_name(ref: Any) -> str:
    return str(ref).removeprefix("ref('").removesuffix("')")


# Generic test name -> its sentence, from the tested column and the test's arguments.
_SENTENCES: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "unique": lambda column, kw: f"{column} is unique: no two rows share a value.",
    "not_null": lambda column, kw: f"{column} is never NULL.",
    "accepted_values": lambda column, kw: f"{column} is one of: {_listed(kw.get('values'))}.",
    "relationships": lambda column, kw: (
        f"Every {column} is a {kw.get('field')} of {_ref_name(kw.get('to', ''))}."
    ),
    "columns_not_null": lambda column, kw: f"No NULL in any of: {_listed(kw.get('columns'))}.",
    "columns_between": lambda column, kw: (
        f"Inclusive bounds, NULL passes: {_bounds(kw.get('ranges') or [])}."
    ),
    "value_between": lambda column, kw: (
        f"Inclusive bounds, NULL passes: {_bounds([{**kw, 'column': column}])}."
    ),
    "unique_combination": lambda column, kw: f"One row per ({_listed(kw.get('columns'))}).",
    "positive_value": lambda column, kw: f"{column} > 0 on every row.",
    "expression_is_true": lambda column, kw: (
        f"On every row: {' '.join(str(kw.get('expression')).split())}."
    ),
    "mrr_bridge_reconciles": lambda column, kw: (
        "On every row, to the cent: mrr_end = mrr_start + new + expansion + reactivation"
        " - contraction - churned, net_new_mrr = mrr_end - mrr_start, arr_end = 12 x mrr_end;"
        " customers_end = customers_start + new + reactivated - churned."
    ),
    "cohort_triangle_is_full": lambda column, kw: (
        "A full triangle: every cohort has one row for each month from its cohort month"
        " (months_since_start 0) through the as-of month, no gap, none after it."
    ),
    "sums_to": lambda column, kw: (
        f"Summed by {kw.get('key', 'month')}, equals {_ref_name(kw.get('to', ''))}:"
        f" {_listed(kw.get('money') or [])} to the cent,"
        f" {_listed(kw.get('counts') or [])} exactly."
    ),
    "continuous_periods": _continuous_periods,
    "ends_by_the_as_of_period": _ends_by_the_as_of_period,
    "sales_shares_sum_to_one": _sums_to_one,
}


def _generic(name: str, kwargs: Mapping[str, Any]) -> str:
    sentence = _SENTENCES.get(name)
    if sentence is None:
        shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        return f"dbt test {name}({shown})."
    return sentence(kwargs.get("column_name"), kwargs)


def _leading_comment(sql: str) -> str:
    lines = []
    for line in sql.strip().splitlines():
        text = line.strip()
        if not text.startswith("--"):
            break
        lines.append(text.removeprefix("--").strip())
    return " ".join(line for line in lines if line)


def describe_dbt_test(node: Mapping[str, Any]) -> str:
    """One readable sentence (or a few) saying what the dbt test ``node`` (a manifest
    node) checks."""
    meta = node.get("meta") or {}
    text = str(meta.get("description") or node.get("description") or "").strip()
    if not text:
        metadata = node.get("test_metadata")
        if metadata:
            kwargs = {k: v for k, v in (metadata.get("kwargs") or {}).items() if k != "model"}
            text = _generic(str(metadata.get("name")), kwargs)
        else:
            text = _leading_comment(str(node.get("raw_code") or ""))
    if not text:
        text = f"dbt test {node.get('name')}."
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 3] + "..."
    severity = str((node.get("config") or {}).get("severity") or "error").lower()
    if severity == "warn":
        text += " (Warns only: not blocking.)"
    return text
