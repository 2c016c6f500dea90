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
import os
import sys


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


def run_dbt() -> int:
    """dbt's own command line on ``sys.argv``, in this process; its exit code."""
    warm_up()
    from dbt.cli.main import cli

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
