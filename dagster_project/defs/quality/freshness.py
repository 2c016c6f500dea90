"""Freshness of the landing sources: Dagster's own freshness checks.

Each ingestion asset reports its newest row time as ``dagster/last_updated_timestamp``
(``dagster_project/quality/freshness.py``); ``build_last_update_freshness_checks`` judges
it against the clock in the run that ingested the source, and the sensor built here
judges it again as time passes while ``product-metrics ui`` runs with its daemon. A stale
source is a warning, never blocking.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict

import dagster as dg

from dagster_project.quality.freshness import FRESHNESS

SENSOR = "landing_freshness"
CHECK = "freshness_check"  # the name Dagster gives its freshness checks


def build_freshness_checks(sources: list[str]) -> list[dg.AssetChecksDefinition]:
    """One Dagster freshness check per landing source (sources sharing a limit share one
    definition)."""
    by_limit: dict[float, list[dg.AssetKey]] = defaultdict(list)
    for source in sources:
        by_limit[FRESHNESS[source][1]].append(dg.AssetKey(["raw", source]))
    checks: list[dg.AssetChecksDefinition] = []
    for days, keys in sorted(by_limit.items()):
        # Superseded by FreshnessPolicy, which the daemon judges by materialization time
        # after the run; this check judges the data's own time, inside the run.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=dg.SupersessionWarning)
            checks.extend(dg.build_last_update_freshness_checks(
                assets=keys,
                lower_bound_delta=dt.timedelta(days=days),
                severity=dg.AssetCheckSeverity.WARN,
                blocking=False,
            ))
    return checks


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Judges the freshness checks among ``checks`` again as time passes (daemon)."""
    freshness = [c for c in checks if any(s.name == CHECK for s in c.check_specs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(freshness_checks=freshness, name=SENSOR)
