"""A model's ``model_rules`` tests run in the model's own dbt pass (DuckDB builds).

A dbt test node costs dbt ~30-50 ms of Python (its compiled context, its transaction, its
events, under one lock for both threads) whatever its query costs DuckDB, and nearly every
model has a ``model_rules`` test (macros/tests/model_rules.sql): at a small landing those
nodes cost about as much as the models. So the pipeline's dbt step excludes them
(``--exclude test_name:model_rules``) and sets ``DBT_RULES_IN_MODEL=1``: every model's
post-hook (``assert_model_rules``) then runs the same query of each of its ``model_rules``
tests once its table is committed, records the outcome in ``checks.model_rule_results``
(one row a test) and fails the model's node when a test of severity error failed, so dbt
skips everything downstream, as after a failed test. This module prepares that table,
reads it back as dbt run results and as the tests' Dagster checks.

The tests stay dbt tests: their definitions, names and Dagster checks do not change, and a
bare ``dbt build`` (or Spark, or a run that selects a rules check without its model, or a
model without its rules check) runs them as test nodes. So does every run when a
``model_rules`` test configures more than its severity (``where``, ``error_if``,
``warn_if``, ``limit``, ``store_failures``), which the post-hook does not apply, or tests a
seed or a source, which have no post-hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

TEST_NAME = "model_rules"
ENV_VAR = "DBT_RULES_IN_MODEL"
SCHEMA = "checks"  # internal: never published
TABLE = f"{SCHEMA}.model_rule_results"
EXCLUDE_ARGS = ("--exclude", f"test_name:{TEST_NAME}")
# The message a model's node fails with when its rules failed (macros/tests/model_rules.sql).
FAILED_MARK = "model rules failed:"

DDL = f"""create or replace table {TABLE} (
  test_id varchar,        -- the dbt test's unique id
  test_name varchar,      -- its name: the Dagster check's name
  model_id varchar,       -- the unique id of the model it checks
  severity varchar,       -- error (blocking) or warn
  status varchar,         -- pass, fail (severity error) or warn (severity warn)
  failures bigint,        -- the sum of the broken rules' counts
  failing_rules varchar   -- 'rule (count), ...' by rule name; '' when none broke
)"""


@dataclass(frozen=True)
class Outcome:
    """A rules test's outcome, as the model's post-hook recorded it."""

    test_id: str
    test_name: str
    model_id: str
    severity: str
    status: str
    failures: int
    failing_rules: str

    def run_result(self) -> dict[str, Any]:
        """The outcome in the shape of a dbt run result (``run_results.json``)."""
        return {"unique_id": self.test_id, "status": self.status,
                "failures": self.failures, "message": self.message()}

    def message(self) -> str:
        return (f"{self.failures} failing" if self.failures else "pass") + (
            f" [failing rules: {self.failing_rules}]" if self.failing_rules else "")


def rules_tests(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The ``model_rules`` tests of the manifest: test unique id -> the model it checks."""
    return {
        uid: str(node.get("attached_node") or "")
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") == TEST_NAME
    }


# A test's configuration the post-hook applies as a test node would: only its severity.
_DEFAULTS = {"where": None, "limit": None, "warn_if": "!= 0", "error_if": "!= 0",
             "store_failures": None}


def unsupported(manifest: Mapping[str, Any]) -> list[str]:
    """The ``model_rules`` tests the post-hook would not run as their test node does: one
    configured beyond its severity, or one on a seed or a source (only models have the
    post-hook). While there is one, every run runs the rules as test nodes."""
    return sorted(
        manifest["nodes"][uid]["name"] for uid, attached in rules_tests(manifest).items()
        if not attached.startswith("model.")
        or any((manifest["nodes"][uid].get("config") or {}).get(key, default) != default
               for key, default in _DEFAULTS.items())
    )


def runs_in_model(rule_checks: Mapping[Any, Any], selected_checks: Iterable[Any],
                  selected_assets: Iterable[Any]) -> bool:
    """Can the rules tests of this run run in their models' pass? Only when the run
    evaluates exactly the rules checks of the models it builds (``rule_checks``: check key
    -> its model's asset key): a check selected without its model must run as a test, and a
    model built with a rules check left out must not be blocked by that check."""
    checks, assets = set(selected_checks), set(selected_assets)
    chosen = {key for key in rule_checks if key in checks}
    built = {key for key, asset in rule_checks.items() if asset in assets}
    return chosen == built


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """An empty results table for this dbt run."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(DDL)


def read(con: duckdb.DuckDBPyConnection) -> list[Outcome]:
    """The outcomes this dbt run recorded, by test name."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = 'model_rule_results'", [SCHEMA]).fetchone()
    if not exists or not exists[0]:
        return []
    return [Outcome(*row) for row in con.execute(
        "select test_id, test_name, model_id, severity, status, failures, failing_rules "
        f"from {TABLE} order by test_name").fetchall()]


def failed_by_rules(outcomes: Iterable[Outcome]) -> set[str]:
    """The models whose node failed because a blocking rules test of theirs failed (their
    table was built and committed first)."""
    return {o.model_id for o in outcomes if o.status == "fail"}


def as_run_results(outcomes: Iterable[Outcome], expected: Iterable[str]) -> list[dict[str, Any]]:
    """The outcomes as dbt run results, and each ``expected`` test that recorded none (its
    model failed or was skipped before its rules ran) as ``skipped``."""
    recorded = [o.run_result() for o in outcomes]
    seen = {r["unique_id"] for r in recorded}
    return recorded + [{"unique_id": uid, "status": "skipped"}
                       for uid in sorted(set(expected) - seen)]
