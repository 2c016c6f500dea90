"""Great Expectations suites as Dagster asset checks.

Per landing source (asset ``["raw", <source>]``), one step running two checks:
- ``gx_contract`` (blocking): the suite's contract expectations, pushed down to SQL over
  the whole raw table (see ``dagster_project/quality/pushdown.py``); a failed critical
  expectation is severity ERROR and stops everything downstream.
- ``gx_freshness_volume`` (not blocking): newest row age and the newest day's volume,
  SQL aggregates judged by GX; failures are severity WARN.

Per published mart with a suite (asset ``["marts", <table>]``), one step running:
- ``gx_mart_rules`` (blocking): the mart suite, validated by GX on the mart's rows
  (only the columns it names, at most 1 million rows in pandas at a time).

Structural rules of the marts (bridges, continuity, calendars, triangles, sums between
marts) are dbt tests, each a blocking check of its own on the mart it guards.

Every check opens the warehouse read-only in the ``duckdb`` pool, and a table that is not
built yet (a source without data) passes with a description saying so.

No ``from __future__ import annotations`` here: Dagster inspects the check functions'
annotations (context and resource types) at definition time.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_project.contract import SOURCES
from dagster_project.resources import WarehouseResource
from dagster_project.settings import EXPECTATIONS_DIR, Settings

CONTRACT_CHECK = "gx_contract"
FRESHNESS_CHECK = "gx_freshness_volume"
MART_CHECK = "gx_mart_rules"
POOL = "duckdb"

SEVERITY = {"critical": dg.AssetCheckSeverity.ERROR, "warning": dg.AssetCheckSeverity.WARN}


def _md(text: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(text)


def suite_check_result(
    check_name: str, key: dg.AssetKey, result: Any, extra: dict[str, Any] | None = None
) -> dg.AssetCheckResult:
    """A :class:`SuiteResult` as an asset check result: ERROR when a critical expectation
    failed, WARN when only warnings did."""
    failed = result.failed
    metadata: dict[str, Any] = {
        "suite": result.suite,
        "engine": result.engine,
        "expectations": len(result.outcomes),
        "failed_expectations": len(failed),
        "failed_critical": sum(o.severity == "critical" for o in failed),
        "failed_warning": sum(o.severity == "warning" for o in failed),
    }
    if result.rows is not None:
        metadata["rows_validated"] = result.rows
    if result.seconds is not None:
        metadata["seconds"] = round(result.seconds, 3)
    if failed:
        metadata["failures"] = _md(result.failures_markdown())
        metadata["failing_expectations"] = [o.name for o in failed]
    if result.note:
        metadata["note"] = result.note
    metadata.update(extra or {})
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check_name,
        passed=result.passed,
        severity=SEVERITY.get(result.worst_severity or "critical", dg.AssetCheckSeverity.ERROR),
        description=result.description,
        metadata=metadata,
    )


def _crashed(key: dg.AssetKey, check_name: str, exc: Exception,
             severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    """A check that could not run fails (closed) instead of stopping the step."""
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    return dg.AssetCheckResult(
        asset_key=key, check_name=check_name, passed=False, severity=severity,
        description=f"{'.'.join(key.path)}: {check_name} could not be evaluated: "
        f"{type(exc).__name__}: {text}",
        metadata={"error": f"{type(exc).__name__}: {text}"},
    )


def _not_built(key: dg.AssetKey, check_name: str, why: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key, check_name=check_name, passed=True,
        description=f"{'.'.join(key.path)}: {why}; nothing to check",
        metadata={"note": why},
    )


def _selected(context: dg.AssetCheckExecutionContext, key: dg.AssetKey, name: str) -> bool:
    return dg.AssetCheckKey(key, name) in context.selected_asset_check_keys


def _run_guarded(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    key: dg.AssetKey,
    checks: list[tuple[str, dg.AssetCheckSeverity, Callable[[Any], dg.AssetCheckResult]]],
) -> Iterator[dg.AssetCheckResult]:
    """Open the warehouse read-only once and yield every selected check's result."""
    wanted = [c for c in checks if _selected(context, key, c[0])]
    if not Path(warehouse.warehouse_path).exists():
        for name, _, _ in wanted:
            yield _not_built(key, name, "the warehouse does not exist yet")
        return
    with warehouse.connect(read_only=True) as con:
        for name, severity, run in wanted:
            try:
                result = run(con)
            except Exception as exc:
                context.log.exception(f"{key.to_user_string()} / {name} could not run")
                result = _crashed(key, name, exc, severity)
            log = context.log.info if result.passed else context.log.warning
            log(f"{name}: {result.description}")
            yield result


# ---------------------------------------------------------------------------------------
# Landing sources


def _landing_check(source: str, settings: Settings, suites_dir: Path) -> dg.AssetChecksDefinition:
    from dagster_project.quality.suites import landing_suite_name, load_suite, suite_path

    key = dg.AssetKey(["raw", source])
    path = suite_path(landing_suite_name(source), suites_dir)
    specs = [
        dg.AssetCheckSpec(
            CONTRACT_CHECK, asset=key, blocking=True,
            description=f"Contract of {source} ({path.name}: types, required columns, enums, "
            "ranges, unique ids on distinct rows), as SQL over every row of the raw table.",
            metadata={"suite": str(path.relative_to(path.parent.parent))},
        ),
        dg.AssetCheckSpec(
            FRESHNESS_CHECK, asset=key, blocking=False,
            description=f"Freshness of the newest {source} row against the as-of date (or "
            "now) and the newest day's row count against the 7 days before it (warnings).",
            metadata={"suite": str(path.relative_to(path.parent.parent))},
        ),
    ]

    def contract(con: Any) -> dg.AssetCheckResult:
        from dagster_project.quality.pushdown import validate_table_sql

        result = validate_table_sql(con, f"raw.{source}", load_suite(path))
        return suite_check_result(CONTRACT_CHECK, key, result)

    def freshness(con: Any) -> dg.AssetCheckResult:
        from dagster_project.quality.pushdown import freshness_volume, reference_time

        fv = freshness_volume(con, f"raw.{source}", load_suite(path),
                              reference_time(settings.as_of_date))
        check = suite_check_result(FRESHNESS_CHECK, key, fv.result)
        stats = {k: v for k, v in fv.stats.items() if v is not None}
        extra = {k: (str(v) if not isinstance(v, (int, float, str)) else v)
                 for k, v in stats.items()}
        return dg.AssetCheckResult(
            asset_key=key, check_name=FRESHNESS_CHECK, passed=check.passed,
            severity=dg.AssetCheckSeverity.WARN, description=fv.description,
            metadata={**check.metadata, **extra, "reference_time": str(fv.reference)},
        )

    @dg.multi_asset_check(
        name=f"raw_{source}_quality",
        specs=specs,
        can_subset=True,
        pool=POOL,
        description=f"Great Expectations suite {path.name} on raw.{source}.",
    )
    def landing_quality(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        yield from _run_guarded(context, warehouse, key, [
            (CONTRACT_CHECK, dg.AssetCheckSeverity.ERROR, contract),
            (FRESHNESS_CHECK, dg.AssetCheckSeverity.WARN, freshness),
        ])

    return landing_quality


# ---------------------------------------------------------------------------------------
# Published marts


def _mart_check(
    table: str, suites_dir: Path
) -> dg.AssetChecksDefinition:
    from dagster_project.quality.suites import load_suite, mart_suite_name, suite_path

    key = dg.AssetKey(["marts", table])
    path = suite_path(mart_suite_name(table), suites_dir)
    specs = []
    checks: list[tuple[str, dg.AssetCheckSeverity, Callable[[Any], dg.AssetCheckResult]]] = []
    if path.exists():
        specs.append(dg.AssetCheckSpec(
            MART_CHECK, asset=key, blocking=True,
            description=f"Great Expectations suite {path.name}: published columns, keys, "
            "ranges of rates and counts (critical blocks, warning reports).",
            metadata={"suite": str(path.relative_to(path.parent.parent))},
        ))

        def rules(con: Any) -> dg.AssetCheckResult:
            from dagster_project.quality.gx_runner import validate_table

            result = validate_table(con, f"marts.{table}", load_suite(path))
            extra = {k: v for k, v in result.extra.items() if k == "chunks"}
            return suite_check_result(MART_CHECK, key, result, extra)

        checks.append((MART_CHECK, dg.AssetCheckSeverity.ERROR, rules))

    @dg.multi_asset_check(
        name=f"marts_{table}_quality",
        specs=specs,
        can_subset=True,
        pool=POOL,
        description=f"Great Expectations suite on marts.{table}.",
    )
    def mart_quality(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        yield from _run_guarded(context, warehouse, key, checks)

    return mart_quality


def _manifest_marts() -> set[dg.AssetKey]:
    from dagster_project.defs.transform.project import ensure_manifest

    manifest = json.loads(ensure_manifest().read_text())
    return {
        dg.AssetKey(["marts", node["name"]])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }


def build_quality_checks(
    settings: Settings,
    asset_keys: Iterable[dg.AssetKey] | None = None,
    suites_dir: Path | None = None,
) -> list[dg.AssetChecksDefinition]:
    """Every quality check: two per landing source, one set per published mart.

    Mart checks are built only for marts that are assets of the graph: ``asset_keys`` when
    given (the keys of the assets being registered), else the dbt manifest's marts.
    """
    from dagster_project.quality.suites import landing_suite_name, suite_names, suite_path

    folder = suites_dir or EXPECTATIONS_DIR
    available = set(asset_keys) if asset_keys is not None else _manifest_marts()
    checks = [
        _landing_check(source, settings, folder)
        for source in SOURCES
        if suite_path(landing_suite_name(source), folder).exists()
    ]
    marts = {name.removeprefix("marts_") for name in suite_names("marts_", folder)}
    for table in sorted(marts):
        if dg.AssetKey(["marts", table]) in available:
            checks.append(_mart_check(table, folder))
    return checks
