"""Great Expectations suites as Dagster asset checks.

Per landing source (asset ``["raw", <source>]``), one step running:
- ``gx_new_batch``: the source's suite on its newest ingestion batch, judged against the
  batches before it (referential coverage, new values, drift of amounts and scores, rows
  per day; ``dagster_project/quality/batches.py``). Its expectations are warnings today; a
  critical one would block (the spec is blocking, the severity decides).

Per published mart with a suite (asset ``["marts", <table>]``), one step running:
- ``gx_mart_expectations`` (blocking): the published column set (critical) and plausible
  ranges of the published KPIs (warnings), validated by GX on the mart's rows (only the
  columns it names, at most 1 million rows in pandas at a time).

Every validation is stored in the Data Docs (``<serving>/quality/``), linked from the
check's metadata. Row rules of the contract are ingestion's (quarantine, with their own
checks on each ingestion asset); structural rules of the models are dbt tests; freshness
is Dagster's freshness check (``freshness.py``). docs/ARCHITECTURE.md says which owns what.

Every check opens the warehouse read-only in the ``duckdb`` pool, and a table that is not
built yet (a source without data) passes with a description saying so.

No ``from __future__ import annotations`` here: Dagster inspects the check functions'
annotations (context and resource types) at definition time.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_project.contract import SOURCES
from dagster_project.defs.quality.freshness import build_freshness_checks
from dagster_project.resources import WarehouseResource
from dagster_project.settings import EXPECTATIONS_DIR, Settings

BATCH_CHECK = "gx_new_batch"
MART_CHECK = "gx_mart_expectations"
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
    pages = result.extra.get("data_docs") if result.extra else None
    if pages:
        metadata["data_docs"] = dg.MetadataValue.path(pages[0])
        if len(pages) > 1:
            metadata["data_docs_pages"] = pages
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
    if not Path(warehouse.database).exists():
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


def _suite_step(
    name: str,
    specs: list[dg.AssetCheckSpec],
    key: dg.AssetKey,
    checks: list[tuple[str, dg.AssetCheckSeverity, Callable[[Any], dg.AssetCheckResult]]],
    description: str,
) -> dg.AssetChecksDefinition:
    """One step running ``checks`` (those selected) of the asset ``key`` in the ``duckdb``
    pool, on the warehouse opened read-only once."""

    @dg.multi_asset_check(
        name=name,
        specs=specs,
        can_subset=True,
        pool=POOL,
        description=description,
    )
    def suite_step(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        yield from _run_guarded(context, warehouse, key, checks)

    return suite_step


# ---------------------------------------------------------------------------------------
# Landing sources


def _docs(settings: Settings) -> Any:
    from dagster_project.quality.data_docs import DataDocs

    return DataDocs(settings.quality_docs_dir)


def _with_pages(result: Any, docs: Any) -> Any:
    """The result with the paths of its Data Docs pages in ``extra`` (rendered now, or by
    the build's GX worker when it has nothing else to do)."""
    import dataclasses

    from dagster_project.quality.gx_runner import publish_docs

    if not docs.has_pending:
        return result
    pages = [str(docs.folder / page) for page in publish_docs(docs, later=True)]
    return dataclasses.replace(result, extra={**result.extra, "data_docs": pages})


def _landing_check(source: str, settings: Settings, suites_dir: Path) -> dg.AssetChecksDefinition:
    from dagster_project.quality.suites import landing_suite_name, load_suite, suite_path

    key = dg.AssetKey(["raw", source])
    path = suite_path(landing_suite_name(source), suites_dir)
    suite = load_suite(path)
    references = sorted({ref.split(".")[1] for ref in suite["meta"].get("references", {}).values()}
                        - {source})
    rules = "; ".join(e["meta"]["rule"] for e in suite["expectations"] if e["meta"].get("rule"))
    specs = [
        dg.AssetCheckSpec(
            BATCH_CHECK, asset=key, blocking=True,
            description=f"Great Expectations on the newest ingestion batch of {source}, "
            f"against the batches before it ({path.name}): {rules}.",
            metadata={"suite": str(path.relative_to(path.parent.parent))},
            # references are judged once the referenced sources of this run have landed
            additional_deps=[dg.AssetKey(["raw", r]) for r in references],
        ),
    ]

    def new_batch(con: Any) -> dg.AssetCheckResult:
        from dagster_project.quality.batches import validate_batch

        docs = _docs(settings)
        result = _with_pages(validate_batch(con, source, suite, docs=docs), docs)
        extra = {k: v for k, v in result.extra.items() if k in ("batch_id", "batch_mode")}
        return suite_check_result(BATCH_CHECK, key, result, extra)

    return _suite_step(
        f"raw_{source}_quality", specs, key, [(BATCH_CHECK, dg.AssetCheckSeverity.WARN, new_batch)],
        f"Great Expectations suite {path.name} on the newest batch of raw.{source}.")


# ---------------------------------------------------------------------------------------
# Published marts


def _mart_check(
    table: str, settings: Settings, suites_dir: Path
) -> dg.AssetChecksDefinition:
    from dagster_project.quality.suites import load_suite, mart_suite_name, suite_path

    key = dg.AssetKey(["marts", table])
    path = suite_path(mart_suite_name(table), suites_dir)
    specs = []
    checks: list[tuple[str, dg.AssetCheckSeverity, Callable[[Any], dg.AssetCheckResult]]] = []
    if path.exists():
        specs.append(dg.AssetCheckSpec(
            MART_CHECK, asset=key, blocking=True,
            description=f"Great Expectations suite {path.name}: the published column set "
            "(critical, blocks publishing) and plausible ranges of the published KPIs "
            "(warnings).",
            metadata={"suite": str(path.relative_to(path.parent.parent))},
        ))

        def rules(con: Any) -> dg.AssetCheckResult:
            from dagster_project.quality.gx_runner import DocsTarget, validate_table

            docs = _docs(settings)
            result = _with_pages(validate_table(
                con, f"marts.{table}", load_suite(path),
                docs=DocsTarget(docs, mart_suite_name(table))), docs)
            extra = {k: v for k, v in result.extra.items() if k == "chunks"}
            return suite_check_result(MART_CHECK, key, result, extra)

        checks.append((MART_CHECK, dg.AssetCheckSeverity.ERROR, rules))

    return _suite_step(f"marts_{table}_quality", specs, key, checks,
                       f"Great Expectations suite on marts.{table}.")


def _manifest_marts() -> set[dg.AssetKey]:
    from dagster_project.defs.transform.project import mart_names

    return {dg.AssetKey(["marts", name]) for name in mart_names()}


def build_quality_checks(
    settings: Settings,
    asset_keys: Iterable[dg.AssetKey] | None = None,
    suites_dir: Path | None = None,
) -> list[dg.AssetChecksDefinition]:
    """Every quality check: one GX check per landing source, one per published mart with a
    suite, and Dagster's freshness check of each landing source.

    Mart checks are built only for marts that are assets of the graph: ``asset_keys`` when
    given (the keys of the assets being registered), else the dbt manifest's marts.
    """
    from dagster_project.quality.suites import landing_suite_name, suite_names, suite_path

    folder = suites_dir or EXPECTATIONS_DIR
    available = set(asset_keys) if asset_keys is not None else _manifest_marts()
    landed = [s for s in SOURCES if suite_path(landing_suite_name(s), folder).exists()]
    checks = [_landing_check(source, settings, folder) for source in landed]
    checks.extend(build_freshness_checks(landed))
    marts = {name.removeprefix("marts_") for name in suite_names("marts_", folder)}
    for table in sorted(marts):
        if dg.AssetKey(["marts", table]) in available:
            checks.append(_mart_check(table, settings, folder))
    return checks
