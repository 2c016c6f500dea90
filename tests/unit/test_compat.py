"""The patches of library internals (dagster_project/compat.py) stop loudly on a version
they were not written for, and apply on the versions they were."""

from __future__ import annotations

import pytest

from dagster_project import compat


def test_the_installed_versions_are_the_ones_the_patches_target() -> None:
    # raises when pyproject.toml's pins and compat.TARGETS disagree
    compat.check(tuple(compat.TARGETS))


@pytest.mark.parametrize(("package", "found"), [("dagster", "1.14.0"),
                                                ("dbt-duckdb", "1.12.0"),
                                                ("dagster-dbt", "0.30.1"),
                                                ("great-expectations", "1.25.0"),
                                                ("altair", "6.4.0")])
def test_another_version_stops_with_the_patch_to_review(package: str, found: str) -> None:
    with pytest.raises(compat.CompatibilityError) as raised:
        compat.check([package], installed={package: found})
    message = str(raised.value)
    assert f"{package} {found} is installed" in message
    assert compat.PATCHES[package] in message and "dagster_project/compat.py" in message


def test_a_patched_internal_that_is_gone_stops(monkeypatch) -> None:
    from dbt.adapters.duckdb.environments import Environment

    monkeypatch.delattr(Environment, "initialize_cursor")
    with pytest.raises(compat.CompatibilityError, match="Environment.initialize_cursor"):
        compat.check(["dbt-duckdb"])


def test_the_lean_resource_skips_the_version_subprocess() -> None:
    import importlib.metadata
    import sys

    from dagster_project.settings import DBT_PROJECT_DIR

    DbtCliResource = compat.import_dagster_dbt().DbtCliResource

    assert issubclass(compat.LeanDbtCliResource, DbtCliResource)
    resource = compat.LeanDbtCliResource(project_dir=str(DBT_PROJECT_DIR),
                                         dbt_executable=sys.executable)
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
    assert resource._initialize_dbt_core_adapter([]) is None


# The asset graph of the definitions, as JSON: every asset's dependencies, checks, kinds,
# metadata keys and description.
_GRAPH = """
import json, sys
import dagster_project.definitions as d
from dagster_project.settings import Settings
graph = d.build_definitions(Settings()).resolve_asset_graph()
import dagster_dbt.compat
nodes = {}
for key in graph.get_all_asset_keys():
    n = graph.get(key)
    nodes[key.to_user_string()] = [sorted(p.to_user_string() for p in n.parent_keys),
                                   sorted(str(c) for c in n.check_keys), sorted(n.kinds or []),
                                   sorted(n.metadata or {}), n.description or ""]
print(json.dumps([str(dagster_dbt.compat.DBT_PYTHON_VERSION), "dbt" in sys.modules, nodes]))
"""


def _graph(first: str) -> tuple[str, bool, dict]:
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", first + "\n" + _GRAPH], capture_output=True,
                         text=True, check=True).stdout
    version, dbt_imported, nodes = json.loads(out.splitlines()[-1])
    return version, dbt_imported, nodes


def test_the_definitions_load_dagster_dbt_without_dbt_and_the_same_graph() -> None:
    # As the build and the UI load them: dbt is never imported (~1.5 s of every start).
    version, dbt_imported, lean = _graph("")
    assert (version, dbt_imported) == ("None", False)
    # dbt imported first (a test process, a dbt run in-process): the same mode, dbt kept.
    version, dbt_imported, same = _graph("import dbt.version")
    assert (version, dbt_imported) == ("None", True)
    # dagster-dbt's dbt-core mode (imported before the project could hide dbt): the asset
    # graph it makes with dbt's node selection is the one made from the manifest alone.
    version, dbt_imported, full = _graph("import dagster_dbt")
    assert version != "None" and dbt_imported
    assert lean == same == full
    assert len(lean) > 80 and sum(len(node[1]) for node in lean.values()) > 150


def test_dbt_processes_do_not_import_dagster() -> None:
    import subprocess
    import sys

    code = ("import sys; import dagster_project.dbt_cli; "
            "from dagster_project.compat import check; check(['dbt-duckdb']); "
            "print('dagster' in sys.modules, 'dagster_dbt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_data_docs_views_share_compiled_templates() -> None:
    """GX makes a Jinja environment per Data Docs page; with the patch the second one
    loads the first one's compiled templates instead of compiling them again."""
    from great_expectations.render.view.view import DefaultJinjaView

    compat.cache_gx_templates()
    compat.cache_gx_templates()  # idempotent: one wrapper, one cache
    assert not getattr(DefaultJinjaView.__init__.__wrapped__, "_product_metrics", False)
    first, second = DefaultJinjaView(), DefaultJinjaView()
    assert first.env.bytecode_cache is second.env.bytecode_cache is not None
    first.env.get_template("page.j2")
    compiled: list[str] = []
    original = second.env.compile

    def counting(source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return original(source, name, filename, raw, defer_init)

    second.env.compile = counting
    second.env.get_template("page.j2")
    assert "page.j2" not in compiled


def test_a_build_writes_its_artifacts_once_and_parse_still_writes_the_manifest(tmp_path) -> None:
    """With prepare_dbt applied, `dbt build` writes run_results.json and
    semantic_manifest.json (published with the marts) but neither manifest.json (twice a
    build otherwise) nor graph.gpickle; `dbt parse` (ensure_manifest) still writes
    manifest.json."""
    import importlib.util
    import sys
    from pathlib import Path

    from dbt.cli.main import dbtRunner

    # bench/run.py's one-model project (the bare dbt build the bench measures)
    spec = importlib.util.spec_from_file_location(
        "bench_run_compat", Path(__file__).resolve().parents[2] / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    compat.prepare_dbt()
    project = bench.one_model_project(tmp_path / "one", name="one", threads=1)
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]

    built = tmp_path / "built"
    assert dbtRunner().invoke(["build", *common, "--target-path", str(built)]).success
    assert sorted(p.name for p in built.iterdir() if p.is_file()) == [
        "graph_summary.json", "partial_parse.msgpack", "run_results.json",
        "semantic_manifest.json"]
    parsed = tmp_path / "parsed"
    assert dbtRunner().invoke(["parse", *common, "--target-path", str(parsed)]).success
    assert (parsed / "manifest.json").is_file() and (parsed / "semantic_manifest.json").is_file()


def _one_asset_and_its_check() -> tuple:
    import dagster as dg

    @dg.asset
    def one():  # unannotated: Dagster resolves annotations, and this module's are strings
        return 1

    @dg.asset_check(asset=one)
    def one_is_one():
        return dg.AssetCheckResult(passed=True)

    return one, one_is_one


def test_a_dagster_home_event_log_keeps_one_engine_per_file_and_stays_shared(tmp_path) -> None:
    # Dagster's SQLite event log (a Dagster home) made an engine and a connection per
    # statement; patched, it keeps one engine (with its pool) per database file. The files
    # stay readable and writable by another instance (the UI, the daemon) meanwhile.
    import dagster as dg
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    compat.pooled_sqlite_event_log()
    compat.pooled_sqlite_event_log()  # idempotent
    assert SqliteEventLogStorage._connect._product_metrics

    one, one_is_one = _one_asset_and_its_check()

    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as ours:
        assert isinstance(ours.event_log_storage, SqliteEventLogStorage)
        first = dg.materialize([one, one_is_one], instance=ours)
        assert first.success
        engines = ours.event_log_storage._product_metrics_engines
        assert set(engines) == {first.run_id, "index"}  # the run's file and the index
        with dg.DagsterInstance.from_config(str(home)) as other:
            # the other instance reads everything ours wrote, and writes while ours holds
            # its pooled connections
            assert len(other.all_logs(first.run_id)) == len(ours.all_logs(first.run_id))
            second = dg.materialize([one, one_is_one], instance=other)
            assert second.success
        assert len(ours.fetch_materializations(dg.AssetKey("one"), limit=5).records) == 2
        check = ours.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("one"), "one_is_one")])
        assert check[dg.AssetCheckKey(dg.AssetKey("one"), "one_is_one")].run_id == second.run_id
    # the engines close with the instance
    assert "_product_metrics_engines" not in ours.event_log_storage.__dict__


def test_the_in_memory_event_log_runs_on_its_held_connection_in_its_own_thread() -> None:
    # An instance without a Dagster home opened a new SQLite connection (and ran two
    # PRAGMAs) per statement; patched, it uses the connection it holds, from the thread
    # that made it, and a new one as before from any other thread.
    import threading

    import dagster as dg

    compat.held_connection_event_log()
    compat.held_connection_event_log()  # idempotent

    one, one_is_one = _one_asset_and_its_check()

    with dg.DagsterInstance.ephemeral() as instance:
        storage = instance.event_log_storage
        with storage._connect() as conn:
            assert conn is storage._held_conn
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        result = dg.materialize([one, one_is_one], instance=instance)
        assert result.success
        stored = instance.all_logs(result.run_id)
        kept = [(e.dagster_event.event_type_value, e.dagster_event.step_key)
                for e in stored if e.is_dagster_event]
        # every event of the run was stored (the instance also stores its "planned" events)
        assert sorted((e.event_type_value, e.step_key) for e in result.all_events) == sorted(
            k for k in kept if not k[0].endswith("_PLANNED"))
        assert instance.get_latest_materialization_event(dg.AssetKey("one")) is not None
        seen: dict[str, object] = {}

        def elsewhere() -> None:
            with storage._connect() as other:
                seen["held"] = other is storage._held_conn
            seen["logs"] = len(instance.all_logs(result.run_id))

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert seen == {"held": False, "logs": len(stored)}


def test_env_secrets_are_read_once_for_a_dbt_command(monkeypatch):
    from dbt_common.events import functions

    monkeypatch.setattr(functions, "env_secrets", functions.env_secrets)  # restored after
    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "s3cret-value")
    compat.freeze_env_secrets()
    assert functions.env_scrubber("token s3cret-value here") == "token ***** here"
    monkeypatch.setenv("DBT_ENV_SECRET_OTHER", "later-value")  # the command's env is fixed
    assert functions.env_scrubber("later-value") == "later-value"


def test_debug_events_no_logger_writes_are_not_built(monkeypatch, tmp_path) -> None:
    """With every logger at info and only dbt's own callback, a debug event is dropped
    before dbt builds its message; an info event is written; a debug logger, a caller's
    callback or forced warning handling each get every event as before."""
    from dbt.events.types import MainEncounteredError, TimingInfoCollected
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events import event_manager
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.logger import LineFormat, LoggerConfig

    compat.prepare_dbt()
    built: list[str] = []
    real = event_manager.msg_from_base_event

    def counting(e, level=None):  # type: ignore[no-untyped-def]
        built.append(type(e).__name__)
        return real(e, level=level)

    monkeypatch.setattr(event_manager, "msg_from_base_event", counting)
    manager = event_manager.EventManager()
    log = tmp_path / "dbt.log"
    manager.add_logger(LoggerConfig(name="t_info", level=EventLevel.INFO,
                                    line_format=LineFormat.PlainText, output_file_name=str(log)))
    manager.add_callback(track_behavior_change_warn)
    debug_event = TimingInfoCollected(node_info={}, timing_info={})
    assert debug_event.level_tag() == EventLevel.DEBUG
    manager.fire_event(debug_event)
    assert built == []
    manager.fire_event(MainEncounteredError(exc="boom"))  # error level: written
    assert built == ["MainEncounteredError"]
    manager.flush()
    assert "boom" in log.read_text()

    manager.fire_event(debug_event, force_warn_or_error_handling=True)
    assert built[-1] == "TimingInfoCollected"
    calls: list[str] = []
    manager.add_callback(lambda msg: calls.append(msg.info.name))
    manager.fire_event(debug_event)
    assert calls == ["TimingInfoCollected"]
    manager.callbacks = [track_behavior_change_warn]
    manager.add_logger(LoggerConfig(name="t_debug", level=EventLevel.DEBUG,
                                    line_format=LineFormat.PlainText,
                                    output_file_name=str(tmp_path / "debug.log")))
    before = len(built)
    manager.fire_event(debug_event)
    assert len(built) == before + 1


def test_a_dbt_event_parses_its_fields_when_first_read(monkeypatch) -> None:
    """An event's protobuf message is made on its first read, by dbt's constructor: a
    dropped debug event is never parsed; a read or a write of a field parses it once."""
    from dbt.events.types import MainEncounteredError, TimingInfoCollected
    from dbt_common.events import base_types

    compat.prepare_dbt()
    parsed: list[str] = []
    real = base_types.ParseDict

    def counting(js, message, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(type(message).__name__)
        return real(js, message, *args, **kwargs)

    monkeypatch.setattr(base_types, "ParseDict", counting)
    TimingInfoCollected(node_info={}, timing_info={})
    assert parsed == []
    error = MainEncounteredError(exc="boom")
    assert (error.exc, error.message(), parsed) == ("boom", "Encountered an error:\nboom",
                                                    ["MainEncounteredError"])
    error.exc = "bang"
    assert (error.pb_msg.exc, len(parsed)) == ("bang", 1)
    with pytest.raises(AttributeError):
        error.no_such_field  # noqa: B018


def test_dbt_compiles_the_jinja_of_a_string_once_and_renders_it_as_before(monkeypatch) -> None:
    """The same text (a post-hook on every ruled model, a model's SQL) is compiled once per
    process and per kind of environment; each template renders in its own context, with its
    node's undefined-variable handling, as jinja's from_string template does."""
    import jinja2
    from dbt.clients.jinja import get_rendered
    from dbt_common.clients import jinja

    compat.prepare_dbt()
    compiles: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiles.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    text = "select {{ n * 2 }} as x {% if flag %}where {{ col }} > 0{% endif %} -- probe 71"
    assert get_rendered(text, {"n": 3, "flag": True, "col": "a"}) == \
        "select 6 as x where a > 0 -- probe 71"
    assert get_rendered(text, {"n": 5, "flag": False}) == "select 10 as x  -- probe 71"
    assert compiles.count(text) == 1
    for native in (True, False):  # two kinds of environment: compiled once each
        expected = jinja.get_environment(None, native=native).from_string(
            "{{ [1, 71] }}").render({})
        assert get_rendered("{{ [1, 71] }}", {}, native=native) == expected
    assert compiles.count("{{ [1, 71] }}") == 2 + 2  # and once each by from_string
    env = jinja.get_environment(None)
    assert env.from_string(text).render({"n": 1, "flag": False}) == get_rendered(
        text, {"n": 1, "flag": False})


def test_an_ephemeral_instance_is_not_stamped_and_records_runs() -> None:
    """The in-memory storages skip Alembic's stamp (no alembic_version table) and still
    record a run's materialisations."""
    import dagster as dg
    import sqlalchemy as db

    compat.held_connection_event_log()
    compat.unstamped_in_memory_storage()

    @dg.asset
    def probe() -> int:
        return 1

    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize([probe], instance=instance).success
    record = instance.get_latest_materialization_event(dg.AssetKey("probe"))
    assert record is not None and record.asset_materialization.asset_key == dg.AssetKey("probe")
    for storage in (instance.run_storage, instance.event_log_storage):
        tables = db.inspect(storage._held_conn).get_table_names()
        assert "alembic_version" not in tables and tables
