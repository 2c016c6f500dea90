"""A sensor that starts a build when new files land."""


import hashlib
import json

import dagster as dg

from dagster_project.contract import SOURCES
from dagster_project.defs.partitions import (
    daily_partitions,
    lookback_window,
    newest_landing_day,
    range_tags,
    today,
)
from dagster_project.settings import Settings

LANDING_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".parquet")


def landing_snapshot(settings: Settings) -> dict[str, list[float]]:
    """Path (relative to the landing dir) -> [size, mtime] of every landable file."""
    snapshot: dict[str, list[float]] = {}
    for source in SOURCES:
        folder = settings.landing_dir / source
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file() and path.name.lower().endswith(LANDING_SUFFIXES):
                stat = path.stat()
                rel = path.relative_to(settings.landing_dir).as_posix()
                snapshot[rel] = [stat.st_size, stat.st_mtime]
    return snapshot


def new_files(previous: dict[str, list[float]], current: dict[str, list[float]]) -> list[str]:
    return sorted(p for p, meta in current.items() if previous.get(p) != meta)


def landing_window(added: list[str], settings: Settings) -> tuple[str, str]:
    """The partitions a run for these new files covers: the newest day they landed for
    (their dt=YYYY-MM-DD folders; today when they have none) and the look-back."""
    partitions = daily_partitions(settings)
    return lookback_window(newest_landing_day(added) or today(settings), settings, partitions)


def build_landing_sensor(settings: Settings, job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_landing_files",
        job_name=job_name,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Starts a build when files appear or change under {settings.landing_dir}: one run "
            "of the newest day they landed for (dt=YYYY-MM-DD) and the look-back. Ingestion "
            "itself skips files whose content was already ingested."
        ),
    )
    def new_landing_files(context: dg.SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        current = landing_snapshot(settings)
        added = new_files(previous, current)
        if not added:
            return dg.SkipReason(f"no new files under {settings.landing_dir}")
        context.update_cursor(json.dumps(current, sort_keys=True))
        run_key = hashlib.sha256("\n".join(added).encode()).hexdigest()[:16]
        window = landing_window(added, settings)
        return dg.RunRequest(
            run_key=run_key,
            tags={**range_tags(window), "product-metrics/trigger": "landing",
                  "product-metrics/new_files": str(len(added))},
        )

    return new_landing_files
