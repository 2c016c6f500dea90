"""What each dbt test checks, in a sentence, for its Dagster asset check.

dagster-dbt gives a check the test's ``meta.description`` and nothing else, so generic
tests showed "No description provided". Here the sentence comes from the test itself: a
generic test's name and arguments (``unique`` on ``month``: "month is unique"), a singular
test's leading SQL comment (every file in ``dbt_models/tests`` opens with one). A test
with ``severity: warn`` says that it only warns.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _generic(name: str, kwargs: Mapping[str, Any]) -> str:
    column = kwargs.get("column_name")
    per = f" (per {_listed(kwargs['partition_by'])})" if kwargs.get("partition_by") else ""
    if name == "unique":
        return f"{column} is unique: no two rows share a value."
    if name == "not_null":
        return f"{column} is never NULL."
    if name == "accepted_values":
        return f"{column} is one of: {_listed(kwargs.get('values'))}."
    if name == "relationships":
        target = str(kwargs.get("to", "")).removeprefix("ref('").removesuffix("')")
        return f"Every {column} is a {kwargs.get('field')} of {target}."
    if name == "columns_not_null":
        return f"No NULL in any of: {_listed(kwargs.get('columns'))}."
    if name == "columns_between":
        return f"Inclusive bounds, NULL passes: {_bounds(kwargs.get('ranges') or [])}."
    if name == "value_between":
        return f"Inclusive bounds, NULL passes: {_bounds([{**kwargs, 'column': column}])}."
    if name == "unique_combination":
        return f"One row per ({_listed(kwargs.get('columns'))})."
    if name == "positive_value":
        return f"{column} > 0 on every row."
    if name == "expression_is_true":
        return f"On every row: {' '.join(str(kwargs.get('expression')).split())}."
    if name == "revenue_equal_to_the_cent":
        return f"{kwargs.get('left')} = {kwargs.get('right')}, to the cent, on every row."
    if name == "continuous_periods":
        step = kwargs.get("datepart", "month")
        return f"No gap in the {step} series {column}{per}: each {step} follows the last."
    if name == "ends_by_the_as_of_period":
        step = kwargs.get("datepart", "month")
        if kwargs.get("reaches"):
            return f"The {step} series {column} ends exactly at the as-of {step}."
        return f"The {step} series {column} never passes the as-of {step}."
    if name == "sales_shares_sum_to_one":
        by = f" per ({_listed(kwargs['group_by'])})" if kwargs.get("group_by") else ""
        return f"{column} sums to 1{by}."
    shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"dbt test {name}({shown})."


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
