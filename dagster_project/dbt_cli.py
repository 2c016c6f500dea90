"""``product-metrics-dbt``: dbt's own command line, with partial parsing that survives a
change of warehouse file.

dbt re-parses the whole project (about 15 s of CPU here: 63 models, ~550 tests) whenever
the hash of the profile's connection changes, and dbt-duckdb hashes the database file's
path and its DuckDB settings (memory limit, spill folder). Neither changes what dbt
parses: the catalog name, which does, is the file's stem and stays in the hash. So a
build against another warehouse (a second landing folder, every test, every benchmark
scale) reuses the previous parse.

And it applies the profile's DuckDB ``settings`` only where they would change something.
dbt-duckdb runs every setting as a ``SET`` on every cursor it opens (one per model and
test). Once DuckDB has spilled to its temporary folder it refuses ``SET temp_directory``,
even to the same folder ("Cannot switch temporary directory after the current one has been
used"), so any model that ran out of memory and spilled failed the models after it. Here a
setting whose current value already is the profile's is not set again.

In a build the command runs in a fork of a warm dbt server when one is reachable
(``METRICS_DBT_SERVER``, dagster_project/dbt_server.py: dbt's ~3 s import paid while the
build ingests), else here.

The pipeline runs dbt through this entry point, and the tests' in-process dbt runs call
:func:`dagster_project.compat.prepare_dbt`; everything else (arguments, exit codes, output) is dbt's.

The two patches live in ``dagster_project/compat.py`` (``prepare_dbt``), with the
dbt-duckdb version they target; a different version stops here, before dbt runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path


def warm_up() -> None:
    """Check and patch dbt-duckdb and import what every dbt command needs (the dbt server
    does this once, before any command: dagster_project/dbt_server.py)."""
    from dagster_project.compat import IN_DBT, check, prepare_dbt

    check(IN_DBT)
    prepare_dbt()
    import dbt.adapters.duckdb
    import dbt.cli.main
    import dbt.parser.manifest
    import dbt.task.build  # noqa: F401


# Classes dbt validates against their JSON schema in every command (the project, its flags
# and packages, the profile and its DuckDB credentials, selectors, hooks, a test's result):
# each schema is built on first use (~0.25 s together) and cached for the process.
_VALIDATED = (
    ("dbt.contracts.project", ("Project", "ProjectFlags", "ProfileConfig", "PackageConfig",
                               "Configuration")),
    ("dbt.adapters.duckdb.credentials", ("DuckDBCredentials",)),
    ("dbt.contracts.selection", ("SelectorFile",)),
    ("dbt.artifacts.resources.v1.config", ("Hook",)),
    ("dbt.task.test", ("TestResultData",)),
)


# Beside the partial parse: which macros the last command run in a dbt server compiled.
USED_MACROS = "warm_macros.json"


def _source_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def record_used_macros(target_dir: Path) -> None:
    """After a command: write which macros it compiled (by a hash of their source) to
    ``target_dir``, for the next server's :func:`warm_caches` (about 190 of the ~620 a
    manifest holds; compiling all of them would cost the warm-up three times as much)."""
    with contextlib.suppress(Exception):
        from dbt_common.clients.jinja import template_cache

        keys = sorted(_source_key(source) for source in template_cache.file_cache)
        if keys:
            (target_dir / USED_MACROS).write_text(json.dumps(keys))


def warm_caches(partial_parse: Path | None, pending: Callable[[], bool]) -> list[str]:
    """Fill the caches that every dbt command fills on first use and keeps for the process,
    so that a fork of this process (the dbt server's commands) starts with them: the JSON
    schemas dbt validates its configuration with, the (de)serialisers mashumaro generates
    for the classes of a manifest (here by reading the partial parse ``partial_parse``, as
    the command will), and the compiled Jinja templates of the macros the last such command
    compiled (dbt's ``template_cache``, keyed by the macro's source, so a changed macro is
    compiled anew; :func:`record_used_macros`), and the Jinja of the nodes' SQL and hooks
    (``compat.compiled_template``, keyed by the text). ~1 s of a dbt command (of ~3-4 s at
    a small landing), paid here while the build ingests. Nothing here opens a database or
    writes a file, and what it fills is keyed by content, so a command never sees a stale
    entry. Stops as soon as ``pending()`` says a command waits; a step that fails is skipped
    (this only saves time). Returns the steps done."""
    import importlib

    done: list[str] = []
    with contextlib.suppress(Exception):
        for module, names in _VALIDATED:
            found = importlib.import_module(module)
            for name in names:
                getattr(found, name).json_schema()
        done.append("schemas")
    if pending() or partial_parse is None or not partial_parse.is_file():
        return done
    try:
        from dbt.contracts.graph.manifest import Manifest
        from dbt.parser.manifest import extended_mashumuro_decoder

        manifest = Manifest.from_msgpack(partial_parse.read_bytes(),
                                         decoder=extended_mashumuro_decoder)
    except Exception:  # noqa: BLE001 - an older or foreign file: nothing to warm from
        return done
    done.append("manifest")
    from dbt_common.clients.jinja import get_environment, template_cache

    from dagster_project.compat import compiled_template

    try:
        used = set(json.loads((partial_parse.parent / USED_MACROS).read_text()))
    except (OSError, ValueError):
        used = set()  # a first build: no macro to compile ahead
    for i, macro in enumerate(m for m in manifest.macros.values()
                              if _source_key(m.macro_sql) in used):
        if i % 20 == 0 and pending():
            return done
        with contextlib.suppress(Exception):
            template_cache.get_node_template(macro)
    if used:
        done.append("macros")

    # The Jinja of each node's SQL and hooks, as the command renders them (compat).
    env = get_environment(None, False, native=False)
    for i, node in enumerate(manifest.nodes.values()):
        if i % 20 == 0 and pending():
            return done
        config = getattr(node, "config", None)
        hooks = [*getattr(config, "pre_hook", []), *getattr(config, "post_hook", [])]
        for text in [getattr(node, "raw_code", None), *(getattr(h, "sql", None) for h in hooks)]:
            if text and any(mark in text for mark in ("{{", "{%", "{#")):
                with contextlib.suppress(Exception):
                    compiled_template(text, env=env)
    done.append("nodes")
    return done


def run_dbt() -> int:
    """dbt's own command line on ``sys.argv``, in this process; its exit code."""
    warm_up()
    from dbt.cli.main import cli

    from dagster_project.compat import freeze_env_secrets

    freeze_env_secrets()

    try:
        # The program's name as typed (in the dbt server, __main__ is the server's module).
        cli(prog_name=os.path.basename(sys.argv[0]))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process (its environment,
    which dbt-duckdb itself only drops at exit): the database closes and checkpoints here,
    as at the end of a dbt process."""
    with contextlib.suppress(Exception):
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()


def main() -> None:
    server = os.environ.get("METRICS_DBT_SERVER", "")
    if server and server != "off":
        from dagster_project import dbt_server

        try:
            sys.exit(dbt_server.run_via_server(server, list(sys.argv)))
        except dbt_server.NotTaken:  # nothing ran there: run dbt here instead
            pass
    from dagster_project.workers import exit_now

    try:
        code = run_dbt()
    finally:
        close_dbt_duckdb()
    # Python's shutdown with dbt loaded (~0.35 s) would only delay whoever waits for dbt.
    exit_now(code)


if __name__ == "__main__":
    main()
