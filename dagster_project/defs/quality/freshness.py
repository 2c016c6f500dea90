"""Freshness of the landing sources, as Dagster freshness checks.

Each ingestion asset reports its newest row time as ``dagster/last_updated_timestamp``
(``dagster_project/quality/freshness.py``). One check per source, ``freshness`` on
``raw/<source>``, judges that time against the clock (or the end of the as-of day) in the
run that ingested the source, and the sensor built here judges it again as time passes
while ``product-metrics ui`` runs with its daemon. A stale source is a warning, never
blocking.

Dagster's ``build_last_update_freshness_checks`` does the same judgement, but names its
checks ``freshness_check`` with the description "Evaluates freshness for targeted asset."
and its steps ``freshness_check_<hash>``; this one says which row time it reads and how old
it may be, and runs as one step, ``landing_freshness``. Its results carry the metadata
keys of Dagster's freshness checks, so the UI and ``build_sensor_for_freshness_checks``
read them as they read Dagster's own.
"""

import time
import warnings

import dagster as dg

from dagster_project.quality.freshness import FRESHNESS, row_time

SENSOR = "landing_freshness"
STEP = "landing_freshness"
CHECK = "freshness"
# Dagster's metadata keys of freshness checks (dagster/_core/.../asset_check_factories/utils.py)
UPDATED = "dagster/last_updated_timestamp"
PARAMS = "dagster/freshness_params"
LOWER_BOUND = "dagster/freshness_lower_bound_timestamp"
FRESH_UNTIL = "dagster/fresh_until_timestamp"
DAY = 86_400.0


def _days(limit: float) -> str:
    return f"{limit:g} day{'' if limit == 1 else 's'}"


def describe(source: str) -> str:
    return (f"raw.{source} is fresh: its newest {row_time(source)} is at most "
            f"{_days(FRESHNESS[source][1])} older than the end of the as-of day (the clock "
            "when the build has no as-of date). A warning, never blocking.")


def age_in_words(seconds: float) -> str:
    """``20 days, 3 hours`` (whole hours; ``less than an hour`` below one)."""
    days, hours = int(seconds // DAY), int(seconds % DAY // 3600)
    parts = [f"{days} day{'' if days == 1 else 's'}" if days else "",
             f"{hours} hour{'' if hours == 1 else 's'}" if hours else ""]
    return ", ".join(p for p in parts if p) or "less than an hour"


def judge(source: str, updated: float | None, now: float) -> tuple[bool, str, dict]:
    """(passed, description, metadata) of one source's freshness at ``now``."""
    limit = FRESHNESS[source][1] * DAY
    meta: dict = {PARAMS: dg.MetadataValue.json({"lower_bound_delta_seconds": limit,
                                                 "timezone": "UTC"}),
                  LOWER_BOUND: dg.MetadataValue.timestamp(now - limit)}
    if updated is None:
        # Nothing landed for this source (an optional source such as fx_rates or releases):
        # nothing to judge, as the other checks of a table not built yet.
        return True, (f"raw.{source}: no rows landed yet (no newest {row_time(source)}); "
                      "nothing to judge"), meta
    meta[UPDATED] = dg.MetadataValue.timestamp(updated)
    age = max(0.0, now - updated)
    if age <= limit:
        meta[FRESH_UNTIL] = dg.MetadataValue.timestamp(updated + limit)
        return True, (f"raw.{source}: fresh; newest {row_time(source)} is "
                      f"{age_in_words(age)} old (limit {_days(FRESHNESS[source][1])})"), meta
    return False, (f"raw.{source}: overdue; newest {row_time(source)} is {age_in_words(age)} "
                   f"old, past the limit of {_days(FRESHNESS[source][1])}"), meta


def _updated(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get(UPDATED) if materialization else None
    return float(value.value) if value is not None else None


def build_freshness_checks(sources: list[str]) -> list[dg.AssetChecksDefinition]:
    """One freshness check per landing source, all in one step."""
    if not sources:
        return []
    specs = [dg.AssetCheckSpec(CHECK, asset=dg.AssetKey(["raw", s]), blocking=False,
                               description=describe(s),
                               metadata={PARAMS: {"lower_bound_delta_seconds":
                                                  FRESHNESS[s][1] * DAY, "timezone": "UTC"}})
             for s in sources]

    @dg.multi_asset_check(specs=specs, name=STEP, can_subset=True,
                          description="Freshness of every landing source (warnings)")
    def landing_freshness(context: dg.AssetCheckExecutionContext):
        now = time.time()
        selected = context.selected_asset_check_keys
        # In the sources' order (a set's order changes from process to process, and the
        # build summary lists the warnings in the order they came).
        for source in sources:
            check_key = dg.AssetCheckKey(dg.AssetKey(["raw", source]), CHECK)
            if check_key not in selected:
                continue
            passed, description, meta = judge(
                source, _updated(context.instance, check_key.asset_key), now)
            yield dg.AssetCheckResult(passed=passed, description=description, metadata=meta,
                                      asset_key=check_key.asset_key, check_name=CHECK,
                                      severity=dg.AssetCheckSeverity.WARN)

    return [landing_freshness]


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Judges the freshness checks among ``checks`` again as time passes (daemon)."""
    freshness = [c for c in checks if any(s.name == CHECK for s in c.check_specs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(freshness_checks=freshness, name=SENSOR)

