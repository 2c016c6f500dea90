"""How fresh each landing source must be: the row time whose newest value says how current
the source is, and the age after which it is stale.

The ingestion asset of a source reports its newest row time as the materialization's
``dagster/last_updated_timestamp``; Dagster's own freshness checks
(``dagster_project/defs/quality/freshness.py``) judge that time against the clock, so the
catalog, the checks and the UI's freshness view all read one figure. Freshness is a
warning, never blocking: late data is normal, and the dbt tests "reaches the as-of date"
say whether a mart covers the period it is built for.
"""

from __future__ import annotations

import datetime as dt

import duckdb

# source -> (SQL expression of the row time, days after which the source is stale)
FRESHNESS: dict[str, tuple[str, float]] = {
    "customers": ("created_at", 35),
    "users": ("signed_up_at", 3),
    "product_events": ("occurred_at", 2),
    "subscription_events": ("coalesce(occurred_at, effective_at)", 14),
    "invoices": ("issued_at", 35),
    "bookings": ("booked_at", 35),
    "marketing_spend": ("spend_date", 35),
    "leads": ("created_at", 7),
    "survey_responses": ("responded_at", 35),
    "releases": ("released_at", 120),
    "fx_rates": ("rate_date", 35),
}


def row_time(source: str) -> str:
    return FRESHNESS[source][0]


def newest_row_time(con: duckdb.DuckDBPyConnection, source: str) -> dt.datetime | None:
    """The newest row time of ``raw.<source>`` (naive UTC, as stored), None when empty."""
    value = con.execute(
        f"select max(cast({row_time(source)} as timestamp)) from raw.{source}").fetchone()[0]
    return value


def as_unix_seconds(value: dt.datetime) -> float:
    """A naive UTC timestamp as seconds since the epoch."""
    return value.replace(tzinfo=dt.UTC).timestamp()


def judged_update_time(newest: dt.datetime, as_of_date: str | None,
                       now: dt.datetime | None = None) -> float:
    """The time Dagster's freshness check judges (seconds since the epoch): the newest row
    time, or, for a build as of an earlier day, that time moved forward by as much as the
    as-of day lies behind the clock, so that the check judges the source against the end
    of the as-of day as it would have on that day."""
    seconds = as_unix_seconds(newest)
    if not as_of_date:
        return seconds
    end = dt.datetime.combine(dt.date.fromisoformat(as_of_date) + dt.timedelta(days=1),
                              dt.time(), tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return seconds + max(0.0, (now - end).total_seconds())
