"""The daily partitions of the large facts, and which days a run re-processes.

A partition is a day in the reporting time zone. For ``raw/product_events`` it names the
files that landed for that day (a ``dt=YYYY-MM-DD`` folder). A run covers a range of
partitions, the *window*, and the dbt step (not partitioned itself) rebuilds the events
and user-days (``stg_product__events``, ``int_user_activity_daily``) of the window's days
(``window_of_run``): the nightly run (schedule, sensor,
``product-metrics build``) takes the newest day and the ``lookback_days`` days before it;
a backfill any range. Whatever the window, every run ingests every new file and also
rebuilds the events and user-days those files touched, so an event landing later than
the look-back still counts on its own day (see ``dbt_models/macros/incremental.sql``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from dagster_project.errors import MetricsError
from dagster_project.settings import Settings

_DT_FOLDER = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists, so a file landing for today can be run.
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start,
        timezone=settings.reporting_timezone,
        end_offset=1,
    )


def landing_day(relative_path: str) -> dt.date | None:
    """The day a landing file is for: its innermost ``dt=YYYY-MM-DD`` folder."""
    found = _DT_FOLDER.findall(relative_path.replace("\\", "/"))
    for text in reversed(found):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            continue
    return None


def newest_landing_day(paths: Iterable[str]) -> dt.date | None:
    days = [d for d in (landing_day(p) for p in paths) if d is not None]
    return max(days) if days else None


def today(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.reporting_timezone)).date()


def clamp_day(day: dt.date, partitions: dg.DailyPartitionsDefinition) -> dt.date:
    first = dt.date.fromisoformat(partitions.get_first_partition_key())
    last = dt.date.fromisoformat(partitions.get_last_partition_key())
    return min(max(day, first), last)


def lookback_window(end_day: dt.date, settings: Settings,
                    partitions: dg.DailyPartitionsDefinition) -> tuple[str, str]:
    """(first, last) partition key of a nightly run ending on ``end_day``: that day and
    the ``lookback_days`` before it, inside the partitions' range."""
    end = clamp_day(end_day, partitions)
    start = clamp_day(end - dt.timedelta(days=settings.lookback_days), partitions)
    return start.isoformat(), end.isoformat()


def backfill_window(first: str, last: str,
                    partitions: dg.DailyPartitionsDefinition) -> tuple[str, str]:
    """A range asked for on the command line, checked against the partitions."""
    try:
        a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError as exc:
        raise MetricsError(f"backfill range {first} .. {last}: {exc} (use YYYY-MM-DD)") from None
    if a > b:
        raise MetricsError(f"backfill range {first} .. {last}: the first day is after the last")
    lo = partitions.get_first_partition_key()
    hi = partitions.get_last_partition_key()
    if a.isoformat() < lo or b.isoformat() > hi:
        raise MetricsError(
            f"backfill range {first} .. {last} is outside the daily partitions {lo} .. {hi} "
            "(METRICS_PARTITIONS_START sets the first; days before it are rebuilt by "
            "`product-metrics build --full-refresh`)"
        )
    return a.isoformat(), b.isoformat()


def range_tags(window: tuple[str, str]) -> dict[str, str]:
    """Run tags that make one run cover the partition range (single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: window[0], ASSET_PARTITION_RANGE_END_TAG: window[1]}


def window_of_run(tags: Mapping[str, str], settings: Settings) -> tuple[str, str]:
    """The window of days a run covers: its partition range (the tags of a nightly run, a
    sensor's run or a backfill), its one partition, or, for a run launched without one
    (the UI's "Materialize" of the dbt models alone), the nightly window ending today."""
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return start, end
    if tags.get(PARTITION_NAME_TAG):
        return tags[PARTITION_NAME_TAG], tags[PARTITION_NAME_TAG]
    return lookback_window(today(settings), settings, daily_partitions(settings))
