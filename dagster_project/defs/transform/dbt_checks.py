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

MAX_CHARS = 2000


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


def _continuous(spec: Mapping[str, Any]) -> str:
    step = spec.get("datepart", "month")
    per = f" (per {_listed(spec['partition_by'])})" if spec.get("partition_by") else ""
    return f"No gap in the {step} series {spec.get('column')}{per}: each {step} follows the last."


def _ends_by_the_as_of_period(column: Any, kwargs: Mapping[str, Any]) -> str:
    step = kwargs.get("datepart", "month")
    if kwargs.get("reaches"):
        return f"The {step} series {column} ends exactly at the as-of {step}."
    return f"The {step} series {column} never passes the as-of {step}."


def _ref_name(ref: Any) -> str:
    return str(ref).removeprefix("ref('").removesuffix("')")


def _unique(columns: Any) -> str:
    columns = list(columns) if isinstance(columns, list | tuple) else [columns]
    if len(columns) == 1:
        return f"{columns[0]} is unique: no two rows share a value."
    return f"One row per ({_listed(columns)})."


def _shares(spec: Mapping[str, Any]) -> str:
    by = f" per ({_listed(spec['group_by'])})" if spec.get("group_by") else ""
    return f"{spec.get('column')} sums to 1{by}."


def _expression(rule: Mapping[str, Any]) -> str:
    text = " ".join(str(rule.get("expression")).split())
    strict = " (NULL fails)" if rule.get("null_fails") else ""
    return f"On every row{strict}: {text}."


MRR_BRIDGE = (
    "On every row, to the cent: mrr_end = mrr_start + new + expansion + reactivation"
    " - contraction - churned, net_new_mrr = mrr_end - mrr_start, arr_end = 12 x mrr_end;"
    " customers_end = customers_start + new + reactivated - churned."
)

# Rule kind of a model_rules test (macros/tests/model_rules.sql) -> its sentence.
_RULES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_null": lambda r: f"No NULL in any of: {_listed(r['not_null'])}.",
    "unique": lambda r: _unique(r["unique"]),
    "between": lambda r: f"Inclusive bounds, NULL passes: {_bounds(r['between'] or [])}.",
    "accepted_values": lambda r: (
        f"{r['accepted_values'].get('column')} is one of: "
        f"{_listed(r['accepted_values'].get('values'))}."
    ),
    "positive": lambda r: f"{r['positive']} > 0 on every row.",
    "expression": _expression,
    "continuous": lambda r: _continuous(r["continuous"]),
    "shares_sum_to_one": lambda r: _shares(r["shares_sum_to_one"]),
    "mrr_bridge_reconciles": lambda r: MRR_BRIDGE,
}


def _rule(rule: Mapping[str, Any]) -> str:
    kind = next((k for k in rule if k not in ("name", "null_fails")), "")
    sentence = _RULES.get(kind)
    text = sentence(rule) if sentence else f"{kind}: {rule.get(kind)}."
    return f"{rule['name']}: {text}" if rule.get("name") else text


def _model_rules(kwargs: Mapping[str, Any]) -> str:
    rules = kwargs.get("rules") or []
    return (f"{len(rules)} rule{'s' if len(rules) != 1 else ''} of this table, one query: "
            + " ".join(f"({i}) {_rule(r)}" for i, r in enumerate(rules, 1)))


# Generic test name -> its sentence, from the tested column and the test's arguments.
_SENTENCES: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "unique": lambda column, kw: _unique(column),
    "not_null": lambda column, kw: f"{column} is never NULL.",
    "accepted_values": lambda column, kw: f"{column} is one of: {_listed(kw.get('values'))}.",
    "relationships": lambda column, kw: (
        f"Every {column} is a {kw.get('field')} of {_ref_name(kw.get('to', ''))}."
    ),
    "model_rules": lambda column, kw: _model_rules(kw),
    "cohort_triangle_is_full": lambda column, kw: (
        "A full triangle: every cohort has one row for each month from its cohort month"
        " (months_since_start 0) through the as-of month, no gap, none after it."
    ),
    "sums_to": lambda column, kw: (
        f"Summed by {kw.get('key', 'month')}, equals {_ref_name(kw.get('to', ''))}:"
        f" {_listed(kw.get('money') or [])} to the cent,"
        f" {_listed(kw.get('counts') or [])} exactly."
    ),
    "ends_by_the_as_of_period": _ends_by_the_as_of_period,
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
