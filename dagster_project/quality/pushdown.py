"""Landing suites pushed down to DuckDB SQL, and the freshness/volume figures.

Why push down: ``raw.<source>`` grows without bound (``product_events`` can hold tens of
millions of rows), and pulling it into pandas for GX costs ~1 s per million rows plus the
memory. The same expectations of the suite's ``rows`` frame are compiled to SQL aggregates
instead: one scan of the table, reading only the columns the suite names, answers every
column rule (``count(*) filter (where ...)``), one hash aggregate answers uniqueness on
the distinct rows, and the schema answers the type expectations. Every row of the table
is covered on every run, with no state to keep between runs, and only a sample of at most
five failing values per expectation ever leaves DuckDB. The unit tests run each landing
suite through both engines on the same rows and require the same verdicts.

Supported expectation types (everything ``make_suites`` writes for landing suites):
``expect_column_values_to_be_in_type_list`` (with ``meta.sql_type``),
``expect_column_values_to_not_be_null``, ``expect_column_values_to_be_null``,
``expect_column_values_to_be_in_set``,
``expect_column_values_to_be_between``, ``expect_column_values_to_match_regex``,
``expect_column_values_to_be_json_parseable``, ``expect_column_values_to_be_unique``,
``expect_compound_columns_to_be_unique``; structured row conditions (nullity, comparison,
and/or).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster_project.contract import quote_literal
from dagster_project.quality.gx_runner import quote_table, validate_frame
from dagster_project.quality.results import (
    SAMPLE_SIZE,
    ExpectationOutcome,
    SuiteResult,
    one_line,
    plain,
)
from dagster_project.quality.suites import (
    FRAME_ROWS,
    FRAME_STATS,
    Expectation,
    Suite,
    column_label,
    load_suite,
    needed_columns,
    on_distinct_rows,
    select,
    severity_of,
)

if TYPE_CHECKING:
    import duckdb

UNIQUE_TYPES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
TYPE_CHECK = "expect_column_values_to_be_in_type_list"
OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class UnsupportedExpectation(ValueError):
    pass


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return quote_literal(str(value))


def condition_sql(condition: Any) -> str:
    """A structured GX row condition as a SQL predicate (NULL compares as false, as in GX)."""
    if condition is None:
        return "true"
    if not isinstance(condition, dict):
        raise UnsupportedExpectation(f"row_condition must be structured, got {condition!r}")
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [f"({condition_sql(c)})" for c in condition["conditions"]]
        return f" {kind} ".join(parts)
    column = ident(condition["column"]["name"])
    if kind == "nullity":
        return f"{column} is {'null' if condition['is_null'] else 'not null'}"
    if kind == "comparison":
        op, param = condition["operator"], condition["parameter"]
        if op in ("IN", "NOT_IN"):
            values = ", ".join(literal(v) for v in param)
            return f"coalesce({column} {'not in' if op == 'NOT_IN' else 'in'} ({values}), false)"
        return f"coalesce({column} {OPERATORS[op]} {literal(param)}, false)"
    raise UnsupportedExpectation(f"row_condition of type {kind!r}")


def unexpected_sql(expectation: Expectation) -> str:
    """SQL true on a row that breaks a column-map expectation (within its domain)."""
    kw = expectation["kwargs"]
    kind = expectation["type"]
    col = ident(kw["column"]) if "column" in kw else None
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if kind == "expect_column_values_to_be_null":
        return f"{col} is not null"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(literal(v) for v in kw["value_set"])
        return f"{col} is not null and {col} not in ({values})"
    if kind == "expect_column_values_to_be_between":
        checks = []
        if kw.get("min_value") is not None:
            checks.append(f"{col} {'>' if kw.get('strict_min') else '>='} {literal(kw['min_value'])}")
        if kw.get("max_value") is not None:
            checks.append(f"{col} {'<' if kw.get('strict_max') else '<='} {literal(kw['max_value'])}")
        return f"{col} is not null and not ({' and '.join(checks) or 'true'})"
    if kind == "expect_column_values_to_match_regex":
        return f"{col} is not null and not regexp_matches({col}, {literal(kw['regex'])})"
    if kind == "expect_column_values_to_be_json_parseable":
        return f"{col} is not null and not coalesce(json_valid({col}), false)"
    raise UnsupportedExpectation(kind)


def _outcome(e: Expectation, **kw: Any) -> ExpectationOutcome:
    return ExpectationOutcome(type=e["type"], column=column_label(e), severity=severity_of(e), **kw)


def _where(example: Any) -> str | None:
    return str(example) if example else None


def _location_sql(columns: set[str]) -> str:
    if {"_file", "_line"} <= columns:
        return "min(_file || ' line ' || cast(_line as varchar))"
    return "null"


def validate_table_sql(
    con: duckdb.DuckDBPyConnection, table: str, suite: Suite | str | Path
) -> SuiteResult:
    """Run the suite's ``rows`` expectations as SQL over the whole table."""
    suite = suite if isinstance(suite, dict) else load_suite(suite)
    started = time.perf_counter()
    schema, name = table.split(".")
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    )
    if not types:
        return SuiteResult(suite["name"], table, (), engine="duckdb-sql",
                           note="table not built yet (no data landed); nothing to check")
    expectations = select(suite, FRAME_ROWS)["expectations"]
    qtable = quote_table(table)
    location = _location_sql(set(types))
    outcomes: dict[int, ExpectationOutcome] = {}
    scans: list[tuple[int, str, str]] = []  # (position, domain, unexpected)
    for i, e in enumerate(expectations):
        missing = [c for c in needed_columns({"meta": suite["meta"], "expectations": [e]})
                   if c not in types]
        if missing:
            outcomes[i] = _outcome(e, success=False,
                                   error=f"column {', '.join(missing)} missing from the table")
        elif e["type"] == TYPE_CHECK:
            want = (e.get("meta") or {}).get("sql_type")
            if want is None:
                raise UnsupportedExpectation(f"{TYPE_CHECK} needs meta.sql_type")
            got = types[e["kwargs"]["column"]]
            outcomes[i] = _outcome(e, success=got == want, observed=got)
        elif e["type"] in UNIQUE_TYPES:
            outcomes[i] = _uniqueness(con, qtable, suite, e, location)
        else:
            scans.append((i, condition_sql(e["kwargs"].get("row_condition")),
                          unexpected_sql(e)))
    rows = con.execute(f"select count(*) from {qtable}").fetchone()[0]
    if scans:
        aggregates = ", ".join(
            f"count(*) filter (where {domain}), count(*) filter (where ({domain}) and ({bad}))"
            for _, domain, bad in scans
        )
        counts = con.execute(f"select {aggregates} from {qtable}").fetchone()
        for n, (i, domain, bad) in enumerate(scans):
            elements, unexpected = counts[2 * n], counts[2 * n + 1]
            e = expectations[i]
            sample: tuple[Any, ...] = ()
            where = None
            if unexpected:
                col = ident(e["kwargs"]["column"])
                found = con.execute(
                    f"select {col} as value, count(*) as n, {location} as example "
                    f"from {qtable} where ({domain}) and ({bad}) "
                    f"group by 1 order by n desc, 1 limit {SAMPLE_SIZE}"
                ).fetchall()
                if e["type"] != "expect_column_values_to_not_be_null":
                    sample = tuple(plain(r[0]) for r in found)
                where = _where(found[0][2]) if found else None
            outcomes[i] = _outcome(e, success=unexpected == 0, observed=unexpected,
                                   unexpected_count=unexpected, element_count=elements,
                                   unexpected_sample=sample, where=where)
    return SuiteResult(
        suite=suite["name"],
        target=table,
        outcomes=tuple(outcomes[i] for i in sorted(outcomes)),
        rows=rows,
        engine="duckdb-sql",
        seconds=time.perf_counter() - started,
    )


def _uniqueness(
    con: duckdb.DuckDBPyConnection, qtable: str, suite: Suite, e: Expectation, location: str
) -> ExpectationOutcome:
    """GX counts every row of a repeated value as unexpected; on distinct rows a row is
    one distinct content, so a key's count is its number of different contents.

    Two passes keep it cheap on big tables: a hash aggregate finds the keys with more than
    one content (min(hash) <> max(hash)), then only those keys are counted exactly.
    """
    kw = e["kwargs"]
    keys = [kw["column"]] if "column" in kw else list(kw["column_list"])
    key_sql = ", ".join(ident(k) for k in keys)
    if on_distinct_rows(e):
        content = f"hash({', '.join(ident(c) for c in suite['meta']['distinct_on'])})"
        repeated, per_key = f"min({content}) <> max({content})", f"count(distinct {content})"
    else:
        repeated, per_key = "count(*) > 1", "count(*)"
    # single columns ignore missing values; compound keys ignore rows missing every part
    scope = (f"({' or '.join(f'{ident(k)} is not null' for k in keys)}) "
             f"and ({condition_sql(kw.get('row_condition'))})")
    same_key = " and ".join(f"bad.{ident(k)} is not distinct from t.{ident(k)}" for k in keys)
    found = con.execute(
        f"with bad as (select {key_sql} from {qtable} where {scope} "
        f"group by all having {repeated}), "
        f"dup as (select {', '.join(f't.{ident(k)}' for k in keys)}, {per_key} as _n, "
        f"{location} as _example from {qtable} as t where {scope} "
        f"and exists (select 1 from bad where {same_key}) group by all) "
        f"select *, sum(_n) over () as _total from dup order by _n desc, {key_sql} "
        f"limit {SAMPLE_SIZE}"
    ).fetchall()
    unexpected = int(found[0][-1]) if found else 0
    k = len(keys)
    values = tuple(
        plain(r[0]) if k == 1 else dict(zip(keys, (plain(v) for v in r[:k]), strict=True))
        for r in found
    )
    sample_where = found[0][k + 1] if found else None
    return _outcome(e, success=unexpected == 0, observed=unexpected, unexpected_count=unexpected,
                    unexpected_sample=values, where=_where(sample_where))


# ---------------------------------------------------------------------------------------
# Freshness and volume: SQL aggregates, judged by GX on a one-row frame.


@dataclass(frozen=True)
class FreshnessVolume:
    stats: dict[str, Any]
    result: SuiteResult
    reference: dt.datetime

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def description(self) -> str:
        s, target = self.stats, self.result.target
        if self.result.note:
            return f"{target}: {self.result.note}"
        limits = {o.column: o for o in self.result.outcomes}
        parts = []
        if not s.get("rows_total"):
            return f"{target}: no rows yet; freshness and volume not judged"
        if s["newest_at"] is None:
            parts.append("no row has a time to judge freshness by")
        else:
            age = limits.get("newest_age_days")
            flag = "STALE " if age is not None and not age.success else ""
            limit = f", limit {s['max_age_days']:g}" if s.get("max_age_days") is not None else ""
            parts.append(
                f"{flag}newest row {s['newest_at']} is {s['newest_age_days']:.1f} days old "
                f"(at {self.reference:%Y-%m-%d %H:%M} UTC{limit})"
            )
        if s["volume_ratio"] is None:
            parts.append(
                f"volume not judged (fewer than {s['min_daily_rows']} rows a day over the "
                f"{s['window_days']} days before the newest day)"
                if s["newest_at"] is not None else "volume not judged"
            )
        else:
            vol = limits.get("volume_ratio")
            flag = "VOLUME " if vol is not None and not vol.success else ""
            lo, hi = s.get("volume_bounds") or (None, None)
            bounds = f", allowed {lo:.0%}-{hi:.0%}" if lo is not None and hi is not None else ""
            parts.append(
                f"{flag}newest day {s['newest_day']} has {s['newest_day_rows']:,} rows, "
                f"{s['volume_ratio']:.0%} of the {s['window_days']}-day mean "
                f"{s['recent_daily_avg']:,.1f}{bounds}"
            )
        return one_line(f"{target}: " + "; ".join(parts))


def reference_time(as_of_date: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """The end of the as-of day when one is set, else now (naive UTC, as in raw tables)."""
    if as_of_date:
        return dt.datetime.combine(dt.date.fromisoformat(as_of_date), dt.time()) + dt.timedelta(
            days=1
        )
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def landing_stats(
    con: duckdb.DuckDBPyConnection, table: str, suite: Suite, reference: dt.datetime
) -> dict[str, Any]:
    """Row count, newest row time and its age, rows of the newest day and the mean rows
    per day of the ``window_days`` days before it (days without rows count as 0)."""
    expr = suite["meta"]["freshness"]["expression"]
    volume = suite["meta"]["volume"]
    window = int(volume["window_days"])
    found = con.execute(
        f"""
        with t as (select cast({expr} as timestamp) as ts from {quote_table(table)}),
        newest as (select count(*) as total, max(ts) as newest_at from t)
        select
            newest.total,
            newest.newest_at,
            count(*) filter (where cast(t.ts as date) = cast(newest.newest_at as date)),
            count(*) filter (where cast(t.ts as date) < cast(newest.newest_at as date)
                               and cast(t.ts as date)
                                   >= cast(newest.newest_at as date) - {window})
        from newest left join t on true
        group by newest.total, newest.newest_at
        """
    ).fetchone()
    total, newest_at, newest_rows, previous_rows = found
    avg = previous_rows / window if newest_at is not None else None
    judged = avg is not None and avg >= float(volume["min_daily_rows"])
    return {
        "rows_total": int(total),
        "newest_at": newest_at,
        "newest_age_days": (
            (reference - newest_at).total_seconds() / 86400 if newest_at is not None else None
        ),
        "newest_day": newest_at.date() if newest_at is not None else None,
        "newest_day_rows": int(newest_rows) if newest_at is not None else None,
        "recent_daily_avg": avg,
        "volume_ratio": newest_rows / avg if judged else None,
        "window_days": window,
        "min_daily_rows": volume["min_daily_rows"],
    }


def freshness_volume(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: Suite | str | Path,
    reference: dt.datetime,
) -> FreshnessVolume:
    """The suite's ``stats`` expectations (warnings) on the table's freshness and volume."""
    import pandas as pd

    suite = suite if isinstance(suite, dict) else load_suite(suite)
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", table.split("."),
    ).fetchone()[0]
    if not exists:
        empty = SuiteResult(suite["name"], table, (), note="table not built yet (no data "
                            "landed); nothing to check")
        return FreshnessVolume({}, empty, reference)
    stats = landing_stats(con, table, suite, reference)
    for e in select(suite, FRAME_STATS)["expectations"]:
        kw = e["kwargs"]
        if kw.get("column") == "newest_age_days":
            stats["max_age_days"] = kw.get("max_value")
        elif kw.get("column") == "volume_ratio":
            stats["volume_bounds"] = (kw.get("min_value"), kw.get("max_value"))
    frame = pd.DataFrame(
        [{k: (float(v) if v is not None else float("nan"))
          for k, v in stats.items() if k in ("newest_age_days", "volume_ratio", "rows_total")}]
    )
    result = validate_frame(frame, suite, frame=FRAME_STATS, target=table)
    return FreshnessVolume(stats, result, reference)
