"""Planning a run of the incremental dbt models (stg_product__events,
int_user_activity_daily): rebuild a slice of days, or everything?

The slice of a run (``dbt_models/macros/incremental.sql``) is whole days: the days of
its partition window, plus the days on which the events of the ingestion batches it has
not seen yet occurred (``changes_after < batch id <= changes_through``; the batches'
re-derived rows are in incremental.changed_product_events, old and new versions, so a
day that loses an event is rebuilt too). ``incremental.dbt_state`` remembers, after each
successful build, the last batch seen and a fingerprint of what the tables were built
with (the models' and macros' code, the metric settings). The models are rebuilt in
full instead when asked to, on a first build, when that fingerprint changed, or when
product_events was re-derived in full since (a replaced file, new derivation rules):
then no batch log can say what changed.

The rules tests of the two tables that name a ``slice_by`` column (``model_rules``,
``sliced_tests``) look at the slice only on an incremental run whose last recorded
(successful) build ran them and saw them pass (``dbt_state.checked``): the rows outside
the slice are those rows, unchanged (a failed build records nothing, so the next slice
covers every day changed since). The tests' definitions are part of the fingerprint, so a
changed rule first runs on whole tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from dagster_project.ingest.changes import STATE_SCHEMA, changes_table
from dagster_project.ingest.schema import create_table_sql

STATE_NAME = "product_events_facts"
MODELS = ("stg_product__events", "int_user_activity_daily")
TABLES = (("staging", "stg_product__events"), ("intermediate", "int_user_activity_daily"))
SOURCE = "product_events"

# Columns added to dbt_state after its first release (older warehouses get them).
STATE_ADDED = (("checked", "BOOLEAN"),)
STATE_DDL = create_table_sql(f"{STATE_SCHEMA}.dbt_state", (
    ("name", "VARCHAR"),
    ("changes_through", "BIGINT"),
    ("fingerprint", "VARCHAR"),
    ("mode", "VARCHAR"),
    ("min_date", "DATE"),
    ("max_date", "DATE"),
    ("updated_at", "TIMESTAMP"),
    *STATE_ADDED,
))


@dataclass
class SlicePlan:
    mode: str  # "incremental" or "full"
    reason: str
    min_date: str
    max_date: str
    changes_after: int
    changes_through: int
    fingerprint: str
    # days outside the window on which the new batches' events occurred (incremental)
    extra_days: list[str] = field(default_factory=list)
    # what the slice holds, counted before dbt runs (incremental mode only)
    window_events: int | None = None  # accepted events that occurred in the window
    changed_events: int | None = None  # distinct event ids the new batches touched
    changed_outside_window: int | None = None  # ... of which occurred on other days
    # the sliced rules tests look at the slice only (their last run passed on whole tables)
    checks_slice: bool = False

    @property
    def full_refresh(self) -> bool:
        return self.mode == "full"

    def env(self) -> dict[str, str]:
        """What the models read (see macros/incremental.sql); empty for a full build."""
        if self.full_refresh:
            return {}
        return {
            "DBT_MIN_DATE": self.min_date,
            "DBT_MAX_DATE": self.max_date,
            "DBT_EXTRA_DAYS": ",".join(self.extra_days),
            **({"DBT_CHECK_SLICE": "1"} if self.checks_slice else {}),
        }

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if v is None or k == "fingerprint":
                continue
            out[f"incremental/{k}"] = ", ".join(v) if isinstance(v, list) else v
        return out


def sliced_tests(manifest: dict[str, Any]) -> list[str]:
    """The unique ids of the tests that may look at a run's slice only: ``model_rules``
    tests of the incremental models that name a ``slice_by`` column."""
    return sorted(
        uid for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") == "model_rules"
        and "slice_by" in ((node.get("test_metadata") or {}).get("kwargs") or {})
        and any(dep.split(".")[-1] in MODELS for dep in node["depends_on"]["nodes"])
    )


def sliced_tests_passed(manifest: dict[str, Any], results: list[dict[str, Any]]) -> bool:
    """Did this run run every sliced test, and did each pass? (dbt's run results)"""
    status = {r.get("unique_id"): r.get("status") for r in results}
    return all(status.get(uid) == "pass" for uid in sliced_tests(manifest))


def fingerprint(manifest: dict[str, Any], dbt_vars: dict[str, Any]) -> str:
    """Changes when the incremental models' SQL, any project macro, a metric setting, or
    the rules of a sliced test change: any of those can change every row (or what every
    row is checked against), so the next build is a full one."""
    # as_of_date only cuts the marts (which rebuild in full anyway), never these tables.
    relevant = {k: v for k, v in dbt_vars.items() if k != "as_of_date"}
    parts: list[str] = [json.dumps(relevant, sort_keys=True, default=str)]
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in MODELS:
            parts.append(f"{node['name']}:{node['checksum']['checksum']}")
    for uid in sliced_tests(manifest):
        kwargs = manifest["nodes"][uid]["test_metadata"]["kwargs"]
        parts.append(f"{uid}:{json.dumps(kwargs, sort_keys=True, default=str)}")
    for macro in sorted(manifest["macros"].values(), key=lambda m: m["unique_id"]):
        if macro["package_name"] == manifest["metadata"].get("project_name", "product_metrics"):
            parts.append(hashlib.sha256(macro["macro_sql"].encode()).hexdigest()[:16])
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [schema, table]).fetchall()[0][0])


def _has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? and column_name = ?",
        [schema, table, column]).fetchall()[0][0])


def _day(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def plan(con: duckdb.DuckDBPyConnection, window: tuple[dt.date, dt.date], fp: str,
         full_refresh: bool = False, reporting_timezone: str = "UTC") -> SlicePlan:
    """Decide how the run builds the incremental models (``con`` may be read-only)."""
    lo, hi = _day(window[0]), _day(window[1])
    has_batches = _exists(con, "ops", "ingestion_batches")
    through = int(con.execute("select coalesce(max(batch_id), 0) from ops.ingestion_batches")
                  .fetchall()[0][0]) if has_batches else 0
    state = None
    if _exists(con, STATE_SCHEMA, "dbt_state"):
        checked = ("checked" if _has_column(con, STATE_SCHEMA, "dbt_state", "checked")
                   else "false")
        rows = con.execute(f"select changes_through, fingerprint, coalesce({checked}, false) "
                           f"from {STATE_SCHEMA}.dbt_state where name = ?",
                           [STATE_NAME]).fetchall()
        state = rows[0] if rows else None

    def full(reason: str) -> SlicePlan:
        return SlicePlan("full", reason, lo, hi, 0, through, fp)

    if full_refresh:
        return full("a full refresh was asked for")
    if not all(_exists(con, s, t) for s, t in TABLES):
        return full("first build of the incremental models")
    if state is None:
        return full("no record of an earlier incremental build")
    after, built_with = int(state[0]), state[1]
    if built_with != fp:
        return full("the models, macros or metric settings changed since the last build")
    rederived = con.execute(
        "select min(batch_id) from ops.ingestion_batches where source = ? and mode = 'full' "
        "and batch_id > ?", [SOURCE, after]).fetchall()[0][0] if has_batches else None
    if rederived is not None:
        return full(f"product_events was re-derived in full (batch {rederived})")
    result = SlicePlan("incremental", "new batches and the window", lo, hi, after,
                       max(through, after), fp, checks_slice=bool(state[2]))
    tz = reporting_timezone.replace("'", "''")
    day = f"cast(timezone('{tz}', timezone('UTC', occurred_at)) as date)"
    # UTC bounds a day wider than the window (constants) let DuckDB skip row groups.
    first = dt.datetime.combine(dt.date.fromisoformat(lo) - dt.timedelta(days=1), dt.time())
    after = dt.datetime.combine(dt.date.fromisoformat(hi) + dt.timedelta(days=2), dt.time())
    result.window_events = int(con.execute(
        f"select count(*) from raw.{SOURCE} where occurred_at >= ? and occurred_at < ? "
        f"and {day} between ? and ?", [first, after, lo, hi]
    ).fetchall()[0][0])
    changed = (f"(select * from {changes_table(SOURCE)} where batch_id > "
               f"{result.changes_after} and batch_id <= {result.changes_through})")
    touched = con.execute(
        f"select count(distinct event_id), "
        f"count(distinct case when {day} not between ? and ? then event_id end) "
        f"from {changed} as c where occurred_at is not null", [lo, hi],
    ).fetchall()[0]
    result.changed_events, result.changed_outside_window = int(touched[0]), int(touched[1])
    result.extra_days = [str(r[0]) for r in con.execute(
        f"select distinct {day} as d from {changed} as c where occurred_at is not null "
        f"and {day} not between ? and ? order by d", [lo, hi]).fetchall()]
    return result


def slice_rows(con: duckdb.DuckDBPyConnection, planned: SlicePlan) -> dict[str, int]:
    """Rows of each incremental table on the run's slice days after the build: the rows
    the run wrote (it deleted those days and wrote them again)."""
    if planned.full_refresh:
        return {name: int(con.execute(f"select count(*) from {schema}.{name}").fetchall()[0][0])
                for schema, name in TABLES}
    days = [planned.min_date, planned.max_date, *planned.extra_days]
    extra = ", ".join(f"date '{d}'" for d in planned.extra_days) or "null"
    counts = {}
    for (schema, name), column in zip(TABLES, ("occurred_date", "activity_date"), strict=True):
        counts[name] = int(con.execute(
            f"select count(*) from {schema}.{name} where {column} between ? and ? "
            f"or {column} in ({extra})", days[:2]).fetchall()[0][0])
    return counts


def record(con: duckdb.DuckDBPyConnection, planned: SlicePlan, checked: bool) -> None:
    """After a successful build: remember the last batch seen, whether the sliced tests
    ran and passed (``checked``), and prune the batch log up to it (nothing will read
    those rows again)."""
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    con.execute(STATE_DDL)
    for name, sql_type in STATE_ADDED:  # a warehouse from before the column
        con.execute(f"alter table {STATE_SCHEMA}.dbt_state add column if not exists "
                    f"{name} {sql_type}")
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {STATE_SCHEMA}.dbt_state where name = ?", [STATE_NAME])
        con.execute(
            f"insert into {STATE_SCHEMA}.dbt_state (name, changes_through, fingerprint, mode, "
            "min_date, max_date, updated_at, checked) "
            "values (?, ?, ?, ?, ?, ?, now()::timestamp, ?)",
            [STATE_NAME, planned.changes_through, planned.fingerprint, planned.mode,
             planned.min_date, planned.max_date, checked],
        )
        if _exists(con, STATE_SCHEMA, f"changed_{SOURCE}"):
            con.execute(f"delete from {changes_table(SOURCE)} where batch_id <= ?",
                        [planned.changes_through])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
