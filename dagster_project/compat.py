"""Every patch of a library's internals, in one place, with the version it was written for.

``check()`` runs at start-up (``build_definitions``, and ``product-metrics-dbt`` before
each dbt run): it stops with a message naming the package, the version found and the
patch to review when an installed version is not the one a patch targets, or when a
patched internal is gone. A patch that silently stopped applying would cost builds their
speed (a re-parse of the whole project, two extra processes per dbt step) or fail models
at random (a spilled DuckDB refusing ``SET temp_directory``), without a word.

The patches:

- dagster-dbt 0.29, ``LeanDbtCliResource``: ``DbtCliResource`` without two fixed costs of
  every dbt step, a ``dbt --version`` subprocess (``_cli_version``: the venv's dbt-core is
  known) and an in-process dbt adapter (``_initialize_dbt_core_adapter``), which only
  serves dagster-dbt's row counts and column metadata (we count rows ourselves, after dbt
  released the file). About 4 s of CPU per dbt step.
- dagster-dbt 0.29, ``import_dagster_dbt()``: dagster-dbt imported in its mode without
  dbt-core (which it supports for dbt Fusion). With dbt-core importable it imports dbt at
  its own import (~1.5 s of every process that loads the definitions: mashumaro builds
  dbt's serialisers) and asks dbt's graph to select the nodes of the default selection;
  without, it reads every node off the manifest (the same assets, checks and
  dependencies: tested) and dbt's results off its JSON log, as before. Our dbt runs in
  processes of its own (``product-metrics-dbt``), which import dbt themselves.
- dbt-duckdb 1.11, ``prepare_dbt()`` (applied in every dbt process we start, see
  ``dagster_project/dbt_cli.py``):
  - ``DuckDBCredentials._connection_keys`` without the file's path and DuckDB settings,
    so that dbt's partial parse survives a change of warehouse file (dbt re-parses the
    whole project, ~15 s of CPU, whenever the profile's connection hash changes; the
    catalog name, which does change what dbt parses, stays in the hash).
  - ``Environment.initialize_cursor`` sets a profile setting only when its value differs:
    dbt-duckdb runs every setting as a ``SET`` on every cursor, and once DuckDB has spilled
    it refuses ``SET temp_directory`` even to the same folder, so every model after one
    that spilled failed.
- dbt-core 1.11, ``prepare_dbt()`` too: a ``dbt build`` writes only the artifacts we read.
  dbt writes ``manifest.json`` and ``semantic_manifest.json`` as soon as it has parsed and
  again when the run ends, and pickles its graph (``graph.gpickle``); nothing of ours reads
  the build's manifest or graph (dagster-dbt and ``ensure_manifest`` use the parsed one).
  For ``build`` only, the parse-time write (``dbt.cli.requires.parse_manifest``'s
  ``write_json``), the end's manifest (``dbt.task.runnable.write_manifest``: the semantic
  manifest, which publish serves, is still written) and the graph
  (``Compiler.write_graph_file``) are skipped; ``run_results.json`` is written as before.
  ~0.4-0.5 s of the small build's dbt step, on its critical path (skipping only the first
  write saved nothing: the end's write then took as long). ``dbt parse`` and every other
  command are untouched.
- dbt-core 1.11 (dbt-common), ``prepare_dbt()`` too: dbt's events and templates.
  ``EventManager.fire_event`` drops a debug event before dbt builds its message and lines
  when no logger writes debug and no caller's callback wants it
  (``_unwritten_debug_events_skipped``); ``BaseEvent`` parses its fields when first read
  (``_events_parsed_when_read``), so dropped events are never parsed; ``get_template``
  compiles the Jinja of a text once per process (``_templates_compiled_once``, which the
  dbt server fills ahead). Together ~3.0 -> ~2.2 s of the small build's dbt command.
- dagster 1.13, ``unstamped_in_memory_storage()`` (applied with the event logs' patches):
  an ephemeral instance's in-memory storages skip Alembic's stamp (~0.16 s of its start).
- dagster 1.13, ``pooled_sqlite_event_log()`` (applied where the definitions load: the
  build, and any process that runs our assets from a Dagster home): Dagster's SQLite event
  log (``SqliteEventLogStorage._connect``, used whenever ``DAGSTER_HOME`` is set: ``make
  run``, the schedule, the UI) made a new SQLAlchemy engine, opened a new SQLite
  connection, and disposed of both, for every statement: ~3,000 a small build, ~6 s of its
  ~12 s. The patched ``_connect`` keeps one engine per database file, with SQLAlchemy's
  pool of connections, and runs the same statements in the same transactions (a pooled
  connection holds no lock between them: SQLAlchemy rolls back what it returns to the
  pool), so other processes (the UI, the daemon) read and write the files as before; the
  engines close with the storage (``dispose``).
- dagster 1.13, ``held_connection_event_log()`` (applied with the one above): the
  in-memory event log of an instance without a Dagster home (``DagsterInstance.ephemeral``:
  ``product-metrics build`` without ``DAGSTER_HOME``, the bench, the tests) opened a new
  SQLite connection and ran two PRAGMAs for every statement, although it holds one
  connection for its whole life (the one that keeps the in-memory database alive). The
  patched ``InMemoryEventLogStorage._connect`` runs the same statements, in the same
  transactions and under the same lock, on that held connection when called from the
  thread that made the storage, and opens one as before from any other thread (SQLite
  connections belong to their thread). ~0.5 s of a small build's ~12.5 s.
- great-expectations 1.24, ``cache_gx_templates()`` (applied when the quality checks make
  their GX context, checked there, not at start-up: importing GX costs ~3.5 s):
  ``DefaultJinjaView.__init__`` gives each new view's Jinja environment one shared
  in-memory bytecode cache. GX makes a new environment for every Data Docs page it
  renders and compiles its templates again each time (~0.1 s a page, ~20 pages a build);
  Jinja checks each cached template against its source, so a cached one is never stale.
- altair 6.3, ``lean_chart_copies()`` (applied when the KPI report is drawn, checked
  there): Altair's deep copy of a chart (``altair.utils.schemapi._deep_copy``, on every
  layer, ``properties`` and ``to_dict``) made each copied object by calling its class again,
  and a ``LayerChart``'s constructor copies its layers and lifts their parameters once more,
  so a copy of nested layers redid that work at every level (~390,000 calls a report).
  The patched copy makes the same objects (their arguments deep-copied the same way, those
  in ``by_ref`` shared) without calling the constructors: a chart being copied has been
  constructed already. The report's 36 specs are the same (tested); its drawing ~0.5 ->
  ~0.3 s.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from dagster_project.errors import MetricsError

# package -> the release line the patches were written and checked for
TARGETS = {"dagster": "1.13", "dagster-dbt": "0.29", "dbt-duckdb": "1.11", "dbt-core": "1.11",
           "great-expectations": "1.24", "altair": "6.3"}
# Versions checked when the definitions load, with the internals of INTERNALS_AT_START_UP;
# dbt-duckdb's internals in the dbt processes; great-expectations when GX is first used.
AT_START_UP = ("dagster", "dagster-dbt", "dbt-duckdb", "dbt-core")
# What the dbt processes check (versions and internals) before dbt runs.
IN_DBT = ("dbt-duckdb", "dbt-core")
INTERNALS_AT_START_UP = ("dagster", "dagster-dbt")
PATCHES = {
    "dagster": "pooled_sqlite_event_log (SqliteEventLogStorage._connect, "
               "SqliteEventLogStorage._initdb, SqliteEventLogStorage.conn_string_for_shard, "
               "SqliteEventLogStorage.dispose), "
               "held_connection_event_log (InMemoryEventLogStorage.__init__, "
               "InMemoryEventLogStorage._connect), unstamped_in_memory_storage (the in-memory "
               "storages' stamp_alembic_rev)",
    "dagster-dbt": "LeanDbtCliResource (DbtCliResource._cli_version, "
                   "DbtCliResource._initialize_dbt_core_adapter)",
    "dbt-duckdb": "prepare_dbt (DuckDBCredentials._connection_keys, "
                  "Environment.initialize_cursor)",
    "dbt-core": "prepare_dbt (dbt.cli.requires.parse_manifest, dbt.task.runnable.write_manifest, "
                "Compiler.write_graph_file, dbt_common's EventManager.fire_event and "
                "BaseEvent.__init__, __getattr__, __setattr__, get_template)",
    "great-expectations": "cache_gx_templates (DefaultJinjaView.__init__)",
    "altair": "lean_chart_copies (altair.utils.schemapi._deep_copy)",
}


class CompatibilityError(MetricsError):
    """An installed library is not the version a patch of its internals targets."""


def import_dagster_dbt() -> ModuleType:
    """dagster-dbt, imported (once per process) as where dbt-core is not installed: while it
    imports, ``dbt`` cannot be imported, and dbt modules already imported are out of sight.
    Every import of dagster-dbt in the project goes through here first (the definitions,
    ``defs/transform``), so every process runs it in the same mode."""
    import sys

    if "dagster_dbt" in sys.modules:
        return sys.modules["dagster_dbt"]

    def is_dbt(name: str) -> bool:
        return name == "dbt" or name.startswith("dbt.")

    class _NoDbt:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> None:
            if is_dbt(name):
                raise ImportError(f"{name}: not imported by dagster-dbt (dagster_project/compat.py)")

    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if is_dbt(name)}
    finder = _NoDbt()
    sys.meta_path.insert(0, finder)
    try:
        import dagster_dbt
    finally:
        sys.meta_path.remove(finder)
        sys.modules.update(hidden)
    return dagster_dbt


def _internals(package: str) -> list[tuple[Any, str]]:
    if package == "dagster":
        from dagster._core.storage.event_log import in_memory as event_log_in_memory
        from dagster._core.storage.event_log.in_memory import InMemoryEventLogStorage
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
            SqliteEventLogStorage,
        )
        from dagster._core.storage.runs import in_memory as runs_in_memory

        return [(event_log_in_memory, "stamp_alembic_rev"), (runs_in_memory, "stamp_alembic_rev"),
                (SqliteEventLogStorage, "_connect"), (SqliteEventLogStorage, "_initdb"),
                (SqliteEventLogStorage, "conn_string_for_shard"), (SqliteEventLogStorage, "dispose"),
                (InMemoryEventLogStorage, "__init__"), (InMemoryEventLogStorage, "_connect")]
    if package == "dagster-dbt":
        DbtCliResource = import_dagster_dbt().DbtCliResource

        return [(DbtCliResource, "_cli_version"),
                (DbtCliResource, "_initialize_dbt_core_adapter")]
    if package == "great-expectations":
        from great_expectations.render.view.view import DefaultJinjaView

        return [(DefaultJinjaView, "__init__"), (DefaultJinjaView, "_get_template")]
    if package == "altair":
        from altair.utils import schemapi

        return [(schemapi, "_deep_copy"), (schemapi.SchemaBase, "copy")]
    if package == "dbt-core":
        import dbt.cli.requires
        import dbt.clients.jinja
        import dbt.parser.manifest
        import dbt.task.runnable
        import dbt.tracking
        from dbt.compilation import Compiler
        from dbt_common.clients import jinja
        from dbt_common.events import logger
        from dbt_common.events.base_types import BaseEvent
        from dbt_common.events.event_manager import EventManager

        manager = EventManager()
        return [(dbt.cli.requires, "parse_manifest"), (dbt.task.runnable, "write_manifest"),
                (dbt.parser.manifest, "write_semantic_manifest"), (Compiler, "write_graph_file"),
                (EventManager, "fire_event"), (manager, "loggers"), (manager, "callbacks"),
                (logger.LoggerConfig, "level"), (dbt.tracking, "track_behavior_change_warn"),
                (BaseEvent, "__getattr__"), (BaseEvent, "__setattr__"),
                (dbt.clients.jinja, "get_template"), (jinja, "get_template"),
                (jinja, "get_environment"), (jinja, "catch_jinja")]
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments import Environment

    return [(DuckDBCredentials, "_connection_keys"), (Environment, "initialize_cursor")]


def check(packages: Iterable[str] = AT_START_UP,
          installed: dict[str, str] | None = None,
          internals: Iterable[str] | None = None) -> None:
    """Raise CompatibilityError unless each of ``packages`` is on its target line and every
    internal patched in ``internals`` (default: ``packages``) exists (``installed``:
    versions to judge instead of the installed ones, for tests). dbt's own processes check
    dbt-duckdb only: importing dagster-dbt there would cost every dbt run a second of
    start-up. Where the definitions load, dbt-duckdb's internals are not looked at
    (``INTERNALS_AT_START_UP``): that would import dbt into a process that otherwise never
    does; the dbt processes, which patch them, check them before dbt runs."""
    packages = tuple(packages)
    for package in packages:
        line = TARGETS[package]
        found = (installed or {}).get(package) or importlib.metadata.version(package)
        if found != line and not found.startswith(line + "."):
            raise CompatibilityError(
                f"{package} {found} is installed, but dagster_project/compat.py patches the "
                f"internals of {package} {line}.x: {PATCHES[package]}. Check each patch "
                f"against {package} {found}, then update TARGETS there (or install "
                f"{package}=={line}.*, the version pyproject.toml pins)."
            )
    for package in packages if internals is None else internals:
        for owner, name in _internals(package):
            if not hasattr(owner, name):
                raise CompatibilityError(
                    f"{package} {importlib.metadata.version(package)} has no "
                    f"{getattr(owner, '__name__', type(owner).__name__)}.{name}, which "
                    "dagster_project/compat.py patches "
                    f"({PATCHES[package]}): review the patch for this version."
                )


def _lean_dbt_cli_resource() -> type:
    from functools import cached_property

    from packaging import version

    DbtCliResource = import_dagster_dbt().DbtCliResource

    class LeanDbtCliResource(DbtCliResource):
        """DbtCliResource without its ``dbt --version`` subprocess and in-process adapter
        (see dagster_project/compat.py)."""

        @cached_property
        def _cli_version(self) -> version.Version:
            return version.parse(importlib.metadata.version("dbt-core"))

        def _initialize_dbt_core_adapter(self, args: Any) -> None:  # type: ignore[override]
            return None

    LeanDbtCliResource.__module__ = __name__
    return LeanDbtCliResource


def __getattr__(name: str) -> Any:
    """``LeanDbtCliResource`` is made on first use, so that dbt's own processes, which
    import this module for the dbt-duckdb patches, never import Dagster."""
    if name == "LeanDbtCliResource":
        cls = _lean_dbt_cli_resource()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Not part of the hash: where the file is and how DuckDB runs; the catalog name
# (``database``, the file's stem) stays in it.
_NOT_PARSE_RELEVANT = ("path", "settings")


def _stable_duckdb_profile_hash() -> None:
    try:
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
    except ImportError:  # dbt-duckdb absent: nothing to adjust
        return
    keys = DuckDBCredentials._connection_keys
    if getattr(keys, "_product_metrics", False):
        return

    def _connection_keys(self):  # type: ignore[no-untyped-def]
        return tuple(k for k in keys(self) if k not in _NOT_PARSE_RELEVANT)

    _connection_keys._product_metrics = True  # type: ignore[attr-defined]
    DuckDBCredentials._connection_keys = _connection_keys  # type: ignore[method-assign]


def _current_setting(cursor, key: str) -> str | None:  # type: ignore[no-untyped-def]
    import duckdb

    try:
        row = cursor.execute("SELECT current_setting(?)", [key]).fetchone()
    except duckdb.Error:  # not a setting this DuckDB knows: let dbt-duckdb's SET report it
        return None
    return None if row is None or row[0] is None else str(row[0])


def _current_settings(cursor, keys: list[str]) -> list[str | None]:  # type: ignore[no-untyped-def]
    """The current values of ``keys``, in one query (dbt-duckdb opens a cursor for every
    model and test); one by one when one of them is not a setting this DuckDB knows."""
    import duckdb

    try:
        row = cursor.execute(
            "SELECT " + ", ".join("current_setting(?)" for _ in keys), keys).fetchone()
    except duckdb.Error:
        return [_current_setting(cursor, key) for key in keys]
    return [None if value is None else str(value) for value in row]


def _settings_only_when_changed() -> None:
    try:
        from dbt.adapters.duckdb.environments import Environment
    except ImportError:
        return
    original_func = Environment.__dict__["initialize_cursor"].__func__
    if getattr(original_func, "_product_metrics", False):
        return

    def initialize_cursor(cls, creds, cursor, plugins=None, registered_df={}):  # type: ignore[no-untyped-def]  # noqa: B006 (dbt-duckdb's signature)
        if creds.settings:
            keys = list(creds.settings)
            needed = {
                key: creds.settings[key]
                for key, current in zip(keys, _current_settings(cursor, keys), strict=True)
                if current != str(creds.settings[key])
            }
            if len(needed) != len(creds.settings):
                creds = copy.copy(creds)  # a shallow copy: the profile's object is shared
                creds.settings = needed
        return original_func(cls, creds, cursor, plugins, registered_df)

    initialize_cursor._product_metrics = True  # type: ignore[attr-defined]
    initialize_cursor.__wrapped__ = original_func  # type: ignore[attr-defined]
    Environment.initialize_cursor = classmethod(initialize_cursor)  # type: ignore[method-assign]


def _is_build(args: Any) -> bool:
    return getattr(args, "which", None) == "build"


def _lean_build_artifacts() -> None:
    try:
        from dbt.cli import requires
        from dbt.compilation import Compiler
        from dbt.flags import get_flags
        from dbt.parser.manifest import write_semantic_manifest
        from dbt.task import runnable
    except ImportError:
        return
    parse = requires.parse_manifest
    if getattr(parse, "_product_metrics", False):
        return

    def parse_manifest(runtime_config, write_perf_info, write, write_json,  # type: ignore[no-untyped-def]
                       active_integrations):
        write_json = write_json and not _is_build(runtime_config.args)
        return parse(runtime_config, write_perf_info, write, write_json, active_integrations)

    write_at_end = runnable.write_manifest

    def write_manifest(manifest, target_path, which=None):  # type: ignore[no-untyped-def]
        if _is_build(get_flags()):
            write_semantic_manifest(manifest, target_path)  # published with the marts
        else:
            write_at_end(manifest, target_path, which)

    write_graph = Compiler.write_graph_file

    def write_graph_file(self, linker, manifest):  # type: ignore[no-untyped-def]
        if not _is_build(self.config.args):
            write_graph(self, linker, manifest)

    parse_manifest._product_metrics = True  # type: ignore[attr-defined]
    requires.parse_manifest = parse_manifest
    runnable.write_manifest = write_manifest
    Compiler.write_graph_file = write_graph_file  # type: ignore[method-assign]


def freeze_env_secrets() -> None:
    """dbt scrubs the values of the ``DBT_ENV_SECRET_*`` variables from every line it logs,
    reading the whole environment again for each (``env_secrets``: ~2,200 events a small
    build, each written to stdout and to dbt.log). For one command in a process of its own
    (``product-metrics-dbt``, after the dbt server's fork has set the command's environment)
    the environment is that of the command: read it once. (Not in :func:`prepare_dbt`: the
    tests run several dbt commands in one process, each with its own environment.)"""
    try:
        from dbt_common.events import functions
        from dbt_common.exceptions import env_secrets
    except ImportError:
        return
    if not hasattr(functions, "env_secrets"):
        return
    secrets = env_secrets()
    functions.env_secrets = lambda: list(secrets)


def _unwritten_debug_events_skipped() -> None:
    """dbt turns every event it fires into a protobuf message and then into a line for each
    of its loggers (JSON on stdout for dagster-dbt, text in dbt.log) before Python's logging
    drops the lines below a logger's level. At info, dbt's level for both here, its debug
    events (each SQL statement, connection, timing, ...: ~2,200 of ~2,400 a small build)
    were built twice over and thrown away. An event is skipped before it is built only when
    it is debug (or test) level, every logger writes info or above, no warning handling is
    forced and the only callback is dbt's own, which reads behaviour-change warnings alone:
    with ``DBT_LOG_LEVEL_FILE=debug``, ``--debug`` or a caller's callback, every event is
    fired as before."""
    try:
        from dbt.tracking import track_behavior_change_warn
        from dbt_common.events.base_types import EventLevel
        from dbt_common.events.event_manager import EventManager
    except ImportError:
        return
    fire = EventManager.fire_event
    if getattr(fire, "_product_metrics", False):
        return
    unwritten = (EventLevel.DEBUG, EventLevel.TEST)

    def fire_event(self, e, level=None, node=None,  # type: ignore[no-untyped-def]
                   force_warn_or_error_handling=False):
        if (not force_warn_or_error_handling
                and (level if level is not None else e.level_tag()) in unwritten
                and all(logger.level not in unwritten for logger in self.loggers)
                and all(cb is track_behavior_change_warn for cb in self.callbacks)):
            return
        fire(self, e, level=level, node=node,
             force_warn_or_error_handling=force_warn_or_error_handling)

    fire_event._product_metrics = True  # type: ignore[attr-defined]
    EventManager.fire_event = fire_event  # type: ignore[method-assign]
    _events_parsed_when_read()


def _events_parsed_when_read() -> None:
    """A dbt event parses its fields into its protobuf message when it is made (``ParseDict``:
    ~0.15 ms an event, nested node information and all), also the debug events that
    :func:`_unwritten_debug_events_skipped` then drops. The message is made on the event's
    first read instead, by dbt's own constructor (so a field it cannot parse is reported as
    dbt reports it): the same events and lines; the dbt command at small 2.30-2.35 ->
    2.19-2.21 s (the fastest of three warm in-process runs, three alternations)."""
    from dbt_common.events.base_types import BaseEvent

    made = BaseEvent.__init__
    if getattr(made, "_product_metrics", False):
        return

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if type(self).__name__ == "Formatting" and args:
            kwargs["msg"], args = args[0], ()
        assert not args, (f"[{type(self).__name__}] Don't use positional arguments when "
                          "constructing logging events")
        object.__setattr__(self, "_unparsed", kwargs)

    def message_of(self):  # type: ignore[no-untyped-def]
        fields = self.__dict__
        if "pb_msg" not in fields:
            made(self, **fields.pop("_unparsed"))
        return fields["pb_msg"]

    def __getattr__(self, key):  # type: ignore[no-untyped-def]
        if "_unparsed" not in self.__dict__ and "pb_msg" not in self.__dict__:
            raise AttributeError(key)
        message = message_of(self)
        return message if key == "pb_msg" else message.__getattribute__(key)

    def __setattr__(self, key, value):  # type: ignore[no-untyped-def]
        if key == "pb_msg":
            object.__setattr__(self, key, value)
        else:
            message_of(self).__setattr__(key, value)

    __init__._product_metrics = True  # type: ignore[attr-defined]
    BaseEvent.__init__ = __init__  # type: ignore[method-assign]
    BaseEvent.__getattr__ = __getattr__  # type: ignore[method-assign]
    BaseEvent.__setattr__ = __setattr__  # type: ignore[method-assign]


# Compiled Jinja of the strings dbt renders (a node's SQL, a hook, a setting), by
# (environment class, capture_macros, native, source): :func:`_templates_compiled_once`.
_TEMPLATE_CODE: dict[tuple[type, bool, bool, str], Any] = {}
_MAX_TEMPLATES = 5000


def compiled_template(string: str, capture_macros: bool = False, native: bool = False,
                      env: Any = None) -> Any:
    """The Python code of dbt's Jinja template for ``string`` in the environment dbt renders
    it with (``get_environment``; ``env``: one made so), compiled once per process."""
    if env is None:
        from dbt_common.clients.jinja import get_environment

        env = get_environment(None, capture_macros, native=native)
    key = (type(env), capture_macros, native, string)
    code = _TEMPLATE_CODE.get(key)
    if code is None:
        if len(_TEMPLATE_CODE) >= _MAX_TEMPLATES:
            _TEMPLATE_CODE.clear()
        code = _TEMPLATE_CODE[key] = env.compile(string)
    return code


def _templates_compiled_once() -> None:
    """dbt compiles the Jinja of every string it renders anew (``get_template``: jinja's
    ``from_string``, ~2 ms each): each model's SQL, and the same post-hook once per model
    (~160 compiles a small build, ~70 of them one hook). The compiled code depends only on
    the string and the environment's kind (its class, ``capture_macros``, ``native``; the
    node's undefined-variable class is read when the template runs), so it is compiled once
    per process (:func:`compiled_template`) and each template made from it as jinja's
    ``from_string`` makes one; the dbt server compiles the last build's node SQL ahead
    (``dbt_cli.warm_caches``). With every template compiled ahead, the dbt command at
    small ~2.19 -> ~2.0 s (warm in-process runs, three alternations); in a small build the
    command usually arrives before the server got to them, and only the repeated hook is
    saved (A/B of the build: within noise)."""
    try:
        import dbt.clients.jinja as dbt_jinja
        from dbt_common.clients import jinja
    except ImportError:
        return
    if getattr(jinja.get_template, "_product_metrics", False):
        return

    def get_template(string, ctx, node=None, capture_macros=False,  # type: ignore[no-untyped-def]
                     native=False):
        with jinja.catch_jinja(node):
            env = jinja.get_environment(node, capture_macros, native=native)
            code = compiled_template(str(string), capture_macros, native, env)
            return env.template_class.from_code(env, code, env.make_globals(ctx), None)

    get_template._product_metrics = True  # type: ignore[attr-defined]
    jinja.get_template = get_template
    dbt_jinja.get_template = get_template


def prepare_dbt() -> None:
    """Apply the dbt-duckdb and dbt-core patches in this process (idempotent)."""
    _stable_duckdb_profile_hash()
    _settings_only_when_changed()
    _lean_build_artifacts()
    _unwritten_debug_events_skipped()
    _templates_compiled_once()


def pooled_sqlite_event_log() -> None:
    """Dagster's SQLite event log keeps one engine (and its pool of connections) per
    database file instead of a new engine and connection per statement (idempotent)."""
    import contextlib
    from collections.abc import Iterator

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        SqliteEventLogStorage,
    )
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

    original = SqliteEventLogStorage._connect
    if getattr(original, "_product_metrics", False):
        return

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:  # type: ignore[no-untyped-def]
        with self._db_lock:
            engines = self.__dict__.setdefault("_product_metrics_engines", {})
            engine = engines.get(shard)
            if engine is None:
                # The pool may hand a connection to another thread than the one that
                # opened it; the lock above keeps one statement at a time.
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                  "check_same_thread": False},
                )
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                engines[shard] = engine
            with engine.connect() as conn, conn.begin():
                yield conn

    original_dispose = SqliteEventLogStorage.dispose

    def dispose(self) -> None:  # type: ignore[no-untyped-def]
        original_dispose(self)
        for engine in self.__dict__.pop("_product_metrics_engines", {}).values():
            engine.dispose()

    _connect._product_metrics = True  # type: ignore[attr-defined]
    _connect.__wrapped__ = original  # type: ignore[attr-defined]
    SqliteEventLogStorage._connect = _connect  # type: ignore[method-assign]
    SqliteEventLogStorage.dispose = dispose  # type: ignore[method-assign]


def held_connection_event_log() -> None:
    """Dagster's in-memory event log runs its statements on the connection it holds, from
    the thread that made it (idempotent)."""
    import contextlib
    import threading
    from collections.abc import Iterator

    import sqlalchemy as db
    from dagster._core.storage.event_log.in_memory import InMemoryEventLogStorage

    original_connect = InMemoryEventLogStorage._connect
    if getattr(original_connect, "_product_metrics", False):
        return
    original_init = InMemoryEventLogStorage.__init__

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        # What the original runs on each new connection (WAL means nothing in memory).
        self._held_conn.execute(db.text("PRAGMA foreign_keys=ON;")).close()
        self._held_conn.commit()
        self._product_metrics_thread = threading.get_ident()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:  # type: ignore[no-untyped-def]
        if getattr(self, "_product_metrics_thread", None) != threading.get_ident():
            with original_connect(self) as conn:
                yield conn
            return
        with self._db_lock, self._held_conn.begin():
            yield self._held_conn

    for patched, original in ((__init__, original_init), (_connect, original_connect)):
        patched._product_metrics = True  # type: ignore[attr-defined]
        patched.__wrapped__ = original  # type: ignore[attr-defined]
    InMemoryEventLogStorage.__init__ = __init__  # type: ignore[method-assign]
    InMemoryEventLogStorage._connect = _connect  # type: ignore[method-assign]


def unstamped_in_memory_storage() -> None:
    """An ephemeral instance's in-memory run storage and event log each stamped their new
    database with Alembic's head revision, which loads and runs Alembic's ~90 migration
    scripts each (~0.16 s of a build's start together); the revision is only ever shown
    (``DagsterInstance.schema_str``) and an in-memory database is never migrated, so they
    are not stamped (idempotent)."""
    from dagster._core.storage.event_log import in_memory as event_log
    from dagster._core.storage.runs import in_memory as runs

    for module in (event_log, runs):
        if not getattr(module.stamp_alembic_rev, "_product_metrics", False):
            def stamp_alembic_rev(*args, **kwargs):  # type: ignore[no-untyped-def]
                return None

            stamp_alembic_rev._product_metrics = True  # type: ignore[attr-defined]
            module.stamp_alembic_rev = stamp_alembic_rev  # type: ignore[attr-defined]


def cache_gx_templates() -> None:
    """Give every GX Data Docs view one shared Jinja bytecode cache (idempotent)."""
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    original = DefaultJinjaView.__init__
    if getattr(original, "_product_metrics", False):
        return

    class _InMemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.compiled: dict[str, bytes] = {}

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            code = self.compiled.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)  # dropped by Jinja if the source changed

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            self.compiled[bucket.key] = bucket.bytecode_to_string()

    cache = _InMemoryBytecodeCache()

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self.env.bytecode_cache = cache

    __init__._product_metrics = True  # type: ignore[attr-defined]
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    DefaultJinjaView.__init__ = __init__  # type: ignore[method-assign]


def lean_chart_copies() -> None:
    """Altair's deep copy of charts without calling their constructors (idempotent)."""
    from altair.utils import schemapi

    if getattr(schemapi._deep_copy, "_product_metrics", False):
        return
    schema_base = schemapi.SchemaBase

    def _deep_copy(obj: Any, by_ref: set[str]) -> Any:
        if isinstance(obj, schema_base):
            copier = getattr(obj, "__deepcopy__", None)
            if copier:
                with schemapi.debug_mode(False):
                    return copier(obj)
            new = object.__new__(obj.__class__)
            object.__setattr__(new, "_args", tuple(_deep_copy(a, by_ref) for a in obj._args))
            object.__setattr__(new, "_kwds", {
                k: (v if k in by_ref else _deep_copy(v, by_ref)) for k, v in obj._kwds.items()})
            return new
        if isinstance(obj, list):
            return [_deep_copy(v, by_ref) for v in obj]
        if isinstance(obj, dict):
            return {k: (v if k in by_ref else _deep_copy(v, by_ref)) for k, v in obj.items()}
        return obj

    _deep_copy._product_metrics = True  # type: ignore[attr-defined]
    _deep_copy.__wrapped__ = schemapi._deep_copy  # type: ignore[attr-defined]
    schemapi._deep_copy = _deep_copy
