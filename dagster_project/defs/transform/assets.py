"""The dbt project as Dagster assets: seeds, staging, intermediate and marts models, with
their dbt tests as asset checks (severity error = blocking, warn = non-blocking).

One multi-asset, ``dbt_models``, runs one ``dbt build`` per run: every model is rebuilt in
full but the incremental ones (``config.materialized:incremental``: stg_product__events,
int_user_activity_daily), which rebuild a slice of days (see ``incremental``): the days
of the run's window (the partition range of the run, i.e. of the partitioned ingestion
assets it covers) and the days the run's new ingestion batches touched. Until 2026-12 the
incremental models were a second, daily-partitioned multi-asset with a dbt process of its
own: one process less saves every build dbt's start-up (~4 s), whatever its size.
"""


import contextlib
import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from dagster_dbt.asset_utils import get_asset_check_key_for_test
from pydantic import Field

from dagster_project.defs.partitions import window_of_run
from dagster_project.defs.transform.dbt_checks import describe_dbt_test
from dagster_project.defs.transform.project import (
    apply_dbt_env,
    dbt_project,
    ensure_manifest,
    mart_names,
)
from dagster_project.errors import MetricsError
from dagster_project.resources import WarehouseResource, release
from dagster_project.settings import DBT_BUILD_TARGET, Settings
from dagster_project.transform import incremental as incremental_plan
from dagster_project.transform import rules_in_model, spark

OWNER = "team:data-platform"
LAYER_GROUPS = ("staging", "intermediate", "marts")


class MetricsDbtTranslator(DagsterDbtTranslator):
    """One place decides keys and groups: ``[schema, name]`` keys, groups by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        fqn = dbt_resource_props.get("fqn", [])
        for layer in LAYER_GROUPS:
            if layer in fqn:
                return layer
        return "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any],
                             unique_id: str, project: Any) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check, with a description saying what the test checks."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_dbt_test(manifest["nodes"][unique_id]))


TRANSLATOR = MetricsDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


def _run_results(invocation: Any) -> list[dict[str, Any]] | None:
    try:
        return invocation.get_artifact("run_results.json")["results"]
    except Exception:  # noqa: BLE001 - artifacts may be missing when dbt could not start
        return None


def _failure_summary(invocation: Any, failing: Mapping[str, str] | None = None,
                     outcomes: list[rules_in_model.Outcome] | None = None) -> str:
    """Which dbt nodes failed, with dbt's message (it counts the failures) and, for the
    grouped rule tests, which rules broke (``failing``, by test name; ``outcomes``: the
    rules tests run in their models' pass, whose failures fail the model's node)."""
    results = _run_results(invocation)
    if results is None:
        return "dbt build failed before writing run_results.json; see the run log"
    failing = failing or {}
    outcomes = outcomes or []
    by_rules = rules_in_model.failed_by_rules(outcomes)
    lines = []
    for res in results:
        if (res["unique_id"] in by_rules
                and rules_in_model.FAILED_MARK in str(res.get("message") or "")):
            continue  # named below, by its test
        if res.get("status") in {"fail", "error"}:
            node = res["unique_id"].split(".", 2)[-1]
            detail = failing.get(res["unique_id"].split(".")[2])
            lines.append(f"{node}: {res.get('message') or res.get('status')}"
                         + (f" [failing rules: {detail}]" if detail else ""))
    lines += [f"{o.test_name}: {o.message()}" for o in outcomes if o.status == "fail"]
    return "; ".join(lines) or "dbt build failed; see the run log"


# A model's rules in one test (macros/tests/model_rules.sql): a failure returns one row per
# broken rule (failing_rule, failures); dbt's message only sums them.
GROUPED_RULE_TESTS = ("model_rules",)


def _failing_rules(invocation: Any, warehouse: WarehouseResource) -> dict[str, str]:
    """Test name -> "unique(customer_id) (2), ..." for each grouped rule test that failed or
    warned, read by running its compiled query again once dbt has released the file. DuckDB
    only: on Spark the tested tables are not in the warehouse file."""
    failed = [
        res for res in _run_results(invocation) or []
        if res.get("status") in {"fail", "warn"} and res.get("compiled_code")
        and _is_rule_test(res["unique_id"], getattr(invocation, "manifest", None))
    ]
    found: dict[str, str] = {}
    if not failed:
        return found
    with warehouse.connect(read_only=True) as con:
        for res in failed:
            try:
                rows = con.execute(
                    "select failing_rule, failures from "
                    f"({res['compiled_code']}) as failing order by failing_rule"
                ).fetchall()
            except duckdb.Error:
                continue  # the summary keeps dbt's own message
            found[res["unique_id"].split(".")[2]] = ", ".join(
                f"{rule} ({n})" for rule, n in rows
            )
    return found


def _is_rule_test(unique_id: str, manifest: Mapping[str, Any] | None) -> bool:
    """A ``model_rules`` test: by the manifest when given, else by its name (rules_<model>)."""
    node = (manifest or {}).get("nodes", {}).get(unique_id)
    if node is not None:
        return (node.get("test_metadata") or {}).get("name") in GROUPED_RULE_TESTS
    return unique_id.split(".")[2].startswith("rules_")


def table_facts(warehouse: WarehouseResource, keys: list[dg.AssetKey]
                ) -> tuple[dict[dg.AssetKey, int], dict[dg.AssetKey, list[tuple[str, str]]]]:
    """Row counts and (column, type) lists of the built tables, read after dbt has released
    the DuckDB file; keys without a table are left out."""
    counts: dict[dg.AssetKey, int] = {}
    columns: dict[dg.AssetKey, list[tuple[str, str]]] = {}
    with warehouse.connect(read_only=True) as con:
        typed: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            typed.setdefault((schema, table), []).append((column, data_type))
        for key in keys:
            if len(key.path) == 2 and tuple(key.path) in typed:
                schema, table = key.path
                counts[key] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
                columns[key] = typed[(schema, table)]
    return counts, columns


def column_schema(columns: list[tuple[str, str]], defined: Any) -> dg.TableSchema:
    """The table's columns with their types in the warehouse and the descriptions dbt gives
    them (``defined``: the asset's definition schema, whose types dbt does not know)."""
    schema = getattr(defined, "schema", defined)
    described = {c.name: c for c in getattr(schema, "columns", None) or []}
    return dg.TableSchema(columns=[
        dg.TableColumn(name, data_type,
                       description=described[name].description if name in described else None,
                       tags=described[name].tags if name in described else None)
        for name, data_type in columns
    ])


def _defined_schema(context: Any, key: dg.AssetKey) -> Any:
    try:
        return context.assets_def.specs_by_key[key].metadata.get("dagster/column_schema")
    except (AttributeError, KeyError):
        return None


ASSET = "dbt_models"
RUN_ENV = ("DBT_MIN_DATE", "DBT_MAX_DATE", "DBT_EXTRA_DAYS", "DBT_CHECK_SLICE",
           rules_in_model.ENV_VAR)


class DbtConfig(dg.Config):
    """Run config of the dbt models."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild stg_product__events and int_user_activity_daily from every "
        "raw row instead of the run's slice (days of the window + days the new files touched).",
    )


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """dbt runs as a child process: it reads the slice (and whether the rules tests run in
    their models' pass) from these variables."""
    saved = {k: os.environ.pop(k, None) for k in RUN_ENV}
    os.environ.update(values)
    try:
        yield
    finally:
        for k in RUN_ENV:
            os.environ.pop(k, None)
            if saved[k] is not None:
                os.environ[k] = saved[k]  # type: ignore[assignment]


def _mart_relations(manifest: dict[str, Any]) -> list[str]:
    return [f"marts.{name}" for name in mart_names(manifest)]


def _before_spark(context: dg.AssetExecutionContext, settings: Settings,
                  warehouse: WarehouseResource, watch: spark.Stopwatch) -> None:
    """Export for Spark every raw table this run has not exported (the dbt step runs after
    every ingestion asset of the run)."""
    spark.check_spark_ready(settings)
    # Spark's error log is per dbt run: an earlier run's must not name this one's cause.
    spark.driver_errors_log(settings).unlink(missing_ok=True)
    raw_dir = settings.spark_raw_dir
    marker = spark.ExportMarker(raw_dir, context.run.run_id)
    done = marker.exported()
    wanted = [t for t in spark.RAW_TABLES if t not in done]
    if not wanted:
        return
    with warehouse.connect(read_only=True) as con:
        counts = spark.export_raw(con, raw_dir, wanted)
    marker.add(wanted)
    watch.lap("export_raw")
    context.log.info(
        f"raw tables exported for Spark to {raw_dir} in {watch.seconds['export_raw']} s: "
        + ", ".join(f"{t} ({counts[t]} rows)" for t in wanted)
    )


def _after_spark(context: dg.AssetExecutionContext, settings: Settings,
                 warehouse: WarehouseResource, watch: spark.Stopwatch,
                 manifest: dict[str, Any]) -> None:
    relations = [*_mart_relations(manifest), *spark.MIRRORED_TABLES]
    with warehouse.connect() as con:
        spark.mirror_tables(con, settings.spark_warehouse_dir, relations)
    watch.lap("mirror")
    context.log.info(
        f"{len(relations)} Spark tables mirrored into {settings.warehouse_path} for the checks "
        f"and the publish step; seconds per phase: {watch.seconds}"
    )


@dataclasses.dataclass(frozen=True)
class RulesInModel:
    """The ``model_rules`` tests a dbt run runs in their models' pass
    (transform/rules_in_model.py): their checks by test unique id, and the asset keys of
    the models by unique id."""

    checks: dict[str, dg.AssetCheckKey]
    models: dict[str, dg.AssetKey]

    def check_result(self, outcome: rules_in_model.Outcome) -> dg.AssetCheckResult:
        key = self.checks[outcome.test_id]
        return dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=outcome.status == "pass",
            severity=(dg.AssetCheckSeverity.WARN if outcome.severity == "warn"
                      else dg.AssetCheckSeverity.ERROR),
            metadata={"unique_id": outcome.test_id, "status": outcome.status,
                      "dagster_dbt/failed_row_count": outcome.failures,
                      "run": "in the model's own dbt pass (its post-hook)"},
            description=(f"failing rules: {outcome.failing_rules}"
                         if outcome.failing_rules else None),
        )

    def events(self, outcomes: list[rules_in_model.Outcome], yielded: set[str]) -> list[Any]:
        """The outputs of the models whose node failed on their rules after their table was
        built (dbt reports no materialization for them: the table is there, as after a
        failed test), then each recorded test's check result."""
        built = []
        for uid in sorted(rules_in_model.failed_by_rules(outcomes)):
            key = self.models.get(uid)
            if key is not None and key.to_python_identifier() not in yielded:
                built.append(dg.Output(None, output_name=key.to_python_identifier(), metadata={
                    "unique_id": uid, "status": "built; a blocking model_rules test failed"}))
        return built + [self.check_result(o) for o in outcomes if o.test_id in self.checks]


def _stream(context: dg.AssetExecutionContext, dbt: DbtCliResource,
            warehouse: WarehouseResource, args: list[str],
            extra: Callable[[Any], dict[dg.AssetKey, dict[str, Any]]] | None = None,
            after: Callable[[Any, list[dict[str, Any]]], None] | None = None,
            countable: set[tuple[str, ...]] | None = None,
            explain_failures: bool = True,
            engine_died: Callable[[list[str]], str | None] | None = None,
            in_model: RulesInModel | None = None) -> Iterator[Any]:
    """Run dbt, then yield its events with row counts on every model output (and, on the
    outputs it names, ``extra(invocation)``'s metadata); raise a Failure naming the failed
    nodes.
    ``after(invocation, results)`` runs once dbt has finished (Spark: mirror the marts),
    with dbt's run results and the outcomes of the rules tests run in their models' pass
    (``in_model``, reported as those tests' checks);
    ``countable`` limits the row counts to the tables DuckDB has current copies of;
    ``explain_failures`` names the broken rules of failed grouped rule tests (DuckDB);
    ``engine_died(messages)`` says in one line whether the engine itself stopped (Spark).

    A dbt test that could not run (status ``error``: the engine died, or its SQL failed;
    ``skipped``: a model it tests failed) is not reported as a failed check: its check is
    left unevaluated and the step's failure counts it, so a dead engine never reads as
    "check failed, 0 failing rows".

    The target folder stays the same from run to run, so dbt finds its previous
    partial_parse.msgpack and only re-parses what changed (vars stay the same from run
    to run; the slice and the as-of date travel in environment variables, read at run
    time only)."""
    invocation = dbt.cli(args, context=context, raise_on_error=False,
                         target_path=DBT_BUILD_TARGET)
    # Collect first: metadata that needs the warehouse can only be read once dbt
    # (a separate process holding the DuckDB file) has finished.
    events = list(invocation.stream())
    outcomes: list[rules_in_model.Outcome] = []
    if in_model is not None:
        with warehouse.connect(read_only=True) as con:
            outcomes = rules_in_model.read(con)
        events += in_model.events(
            outcomes, {ev.output_name for ev in events if isinstance(ev, dg.Output)})
    results = [*(_run_results(invocation) or []),
               *(rules_in_model.as_run_results(outcomes, in_model.checks) if in_model else [])]
    if after is not None:
        after(invocation, results)
    keys = [ev.asset_key for ev in events
            if isinstance(ev, dg.Output | dg.AssetMaterialization) and getattr(ev, "asset_key", None)]
    output_keys = {
        ev.output_name: context.asset_key_for_output(ev.output_name)
        for ev in events
        if isinstance(ev, dg.Output)
    }
    counted = [*keys, *output_keys.values()]
    if countable is not None:
        counted = [k for k in counted if tuple(k.path) in countable]
    counts, columns = table_facts(warehouse, counted)
    more = extra(invocation) if extra else {}
    failing = _failing_rules(invocation, warehouse) if explain_failures else {}
    for ev in events:
        if isinstance(ev, dg.AssetCheckResult) and _check_status(ev) in NOT_RUN:
            continue  # counted in the step's failure (_not_run_note), never a failed check
        if isinstance(ev, dg.AssetCheckResult) and ev.check_name in failing:
            ev = ev._replace(description=f"failing rules: {failing[ev.check_name]}")
        if isinstance(ev, dg.Output):
            key = output_keys[ev.output_name]
            n = counts.get(key)
            meta = {**ev.metadata, **more.get(key, {})}
            if n is not None:
                meta["dagster/row_count"] = n
            if columns.get(key):
                # Column types on the asset page (the definition's schema has none).
                meta["dagster/column_schema"] = column_schema(
                    columns[key], _defined_schema(context, key))
            ev = ev.with_metadata(meta)
        yield ev
    if not invocation.is_successful():
        messages = [str(r.get("message") or "") for r in results if r.get("status") == "error"]
        died = engine_died(messages) if engine_died else None
        unrun = _not_run_note(results)
        summary = _failure_summary(invocation, failing, outcomes)
        raise dg.Failure(
            description=f"{died}{unrun}" if died else f"dbt build failed: {summary}{unrun}",
            allow_retries=False,
        )


# dbt statuses of a test that did not run: its SQL or the engine failed, or a model it tests.
NOT_RUN = ("error", "skipped")


def _not_run_note(results: list[dict[str, Any]]) -> str:
    """"; N dbt test(s) could not run ..." for the failure message, or "" (from
    run_results.json: dagster-dbt does not report every skipped test as an event)."""
    names = sorted({r["unique_id"].split(".")[2] for r in results
                    if r["unique_id"].startswith("test.") and r.get("status") in NOT_RUN})
    if not names:
        return ""
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f"; {len(names)} dbt test(s) could not run and were not evaluated ({shown})"


def _check_status(result: dg.AssetCheckResult) -> str | None:
    """dbt's status of the test behind a check (pass, fail, warn, error, skipped)."""
    status = (result.metadata or {}).get("status")
    return str(getattr(status, "value", status)).lower() if status is not None else None


def build_dbt_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The dbt project as one multi-asset: one ``dbt build`` per run, the incremental
    models rebuilding the run's slice of days, everything else in full."""
    manifest_path = ensure_manifest()
    manifest = json.loads(manifest_path.read_text())
    incremental = sorted(
        n["name"] for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("materialized") == "incremental"
    )
    if tuple(incremental) != tuple(sorted(incremental_plan.MODELS)):
        raise MetricsError(
            f"dbt models materialized incrementally: {incremental}; the slice logic "
            f"(dagster_project/transform/incremental.py) knows {incremental_plan.MODELS}"
        )
    project = dbt_project()
    dbt_vars = settings.dbt_vars_dict()
    fingerprint = incremental_plan.fingerprint(manifest, dbt_vars)
    base_args = ["build", "--target", settings.dbt_target, "--vars",
                 json.dumps(settings.dbt_cli_vars())]
    on_spark = settings.engine == "spark"
    # On Spark only the mirrored tables are current in DuckDB; the others live on Spark.
    mirrored = {tuple(r.split(".")) for r in [*_mart_relations(manifest), *spark.MIRRORED_TABLES]}
    incremental_keys = {dg.AssetKey(list(table)) for table in incremental_plan.TABLES}
    # The model_rules tests: their checks, and their models' asset keys.
    rule_checks: dict[str, dg.AssetCheckKey] = {}
    rule_models: dict[dg.AssetCheckKey, dg.AssetKey] = {}
    model_keys: dict[str, dg.AssetKey] = {}
    # A rules test configured beyond its severity runs as a test node (rules_in_model.py).
    rules_as_tests = bool(rules_in_model.unsupported(manifest))
    for uid, model_id in rules_in_model.rules_tests(manifest).items():
        check = get_asset_check_key_for_test(manifest, TRANSLATOR, uid, project=project)
        if check is not None and model_id in manifest["nodes"]:
            rule_checks[uid] = check
            rule_models[check] = model_keys[model_id] = TRANSLATOR.get_asset_key(
                manifest["nodes"][model_id])

    def engine_died(messages: list[str]) -> str | None:
        return spark.driver_stopped(settings, messages) if on_spark else None

    @dbt_assets(
        manifest=manifest_path,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name=ASSET,
        pool="duckdb",
    )
    def dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtConfig,
    ):
        apply_dbt_env(settings)
        built = {key.path[-1] for key in context.selected_asset_keys}
        slicing = bool(built & set(incremental_plan.MODELS))
        planned = None
        if slicing:
            first, last = window_of_run(context.run.tags, settings)
            with warehouse.connect(read_only=True) as con:
                planned = incremental_plan.plan(
                    con, (dt.date.fromisoformat(first), dt.date.fromisoformat(last)),
                    fingerprint,
                    # The slice logic is checked on DuckDB; Spark rebuilds the facts in full.
                    full_refresh=config.full_refresh or on_spark,
                    reporting_timezone=settings.reporting_timezone)
            if on_spark and not config.full_refresh:
                planned.reason = "engine spark: the daily facts are rebuilt in full on Spark"
            context.log.info(
                f"{planned.mode} build of {', '.join(incremental_plan.MODELS)} "
                f"({planned.reason}): days {planned.min_date} .. {planned.max_date}"
                + (f" and {', '.join(planned.extra_days)}" if planned.extra_days else "")
                + f"; ingestion batches {planned.changes_after} < id <= "
                f"{planned.changes_through}"
                + ("; their rules tests look at the slice (they passed on the whole tables "
                   "at the last build)" if planned.checks_slice else "")
            )
        # --full-refresh only changes the incremental models (and reloads the seeds).
        args = [*base_args, "--full-refresh"] if planned and planned.full_refresh else base_args
        # The rules tests in their models' pass (transform/rules_in_model.py), DuckDB only.
        in_model = None
        if not on_spark and not rules_as_tests and rules_in_model.runs_in_model(
                rule_models, context.selected_asset_check_keys, context.selected_asset_keys):
            selected = set(context.selected_asset_check_keys)
            in_model = RulesInModel(
                {uid: key for uid, key in rule_checks.items() if key in selected}, model_keys)
            args = [*args, *rules_in_model.EXCLUDE_ARGS]
            with warehouse.connect() as con:
                rules_in_model.prepare(con)
        watch = spark.Stopwatch()
        if on_spark:
            _before_spark(context, settings, warehouse, watch)

        def extra(invocation: Any) -> dict[dg.AssetKey, dict[str, Any]]:
            """The slice's plan (and rows written) on the incremental models' outputs."""
            if planned is None:
                return {}
            meta = planned.metadata()
            if not on_spark and invocation.is_successful():
                with warehouse.connect(read_only=True) as con:
                    written = incremental_plan.slice_rows(con, planned)
                meta.update({f"incremental/rows_written/{k}": v for k, v in written.items()})
            return {key: meta for key in incremental_keys}

        ran: dict[str, bool] = {}

        def after(invocation: Any, results: list[dict[str, Any]]) -> None:
            watch.lap("dbt_build")
            if planned is not None:
                ran["sliced_tests_passed"] = incremental_plan.sliced_tests_passed(
                    manifest, results)
            if on_spark and invocation.is_successful():
                _after_spark(context, settings, warehouse, watch, manifest)

        release(warehouse.database)  # dbt opens the file in a process of its own
        env = {**(planned.env() if planned else {}),
               **({rules_in_model.ENV_VAR: "1"} if in_model else {})}
        with _environment(env):
            yield from _stream(context, dbt, warehouse, args, extra, after=after,
                               countable=mirrored if on_spark else None,
                               explain_failures=not on_spark, engine_died=engine_died,
                               in_model=in_model)
        if planned is None or on_spark:
            return
        if built >= set(incremental_plan.MODELS):
            with warehouse.connect() as con:
                incremental_plan.record(con, planned, ran.get("sliced_tests_passed", False))
        else:
            # A subset: the batches stay unseen, so the next run applies them to both.
            context.log.warning(
                f"only {sorted(built & set(incremental_plan.MODELS))} of "
                f"{list(incremental_plan.MODELS)} ran: the ingestion batches are applied "
                "again by the next run"
            )

    return [dbt_models]
