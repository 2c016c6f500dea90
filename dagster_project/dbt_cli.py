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

The pipeline runs dbt through this entry point, and the tests' in-process dbt runs call
:func:`prepare`; everything else (arguments, exit codes, output) is dbt's.
"""

from __future__ import annotations

import copy

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
            needed = {
                key: value
                for key, value in creds.settings.items()
                if _current_setting(cursor, key) != str(value)
            }
            if len(needed) != len(creds.settings):
                creds = copy.copy(creds)  # a shallow copy: the profile's object is shared
                creds.settings = needed
        return original_func(cls, creds, cursor, plugins, registered_df)

    initialize_cursor._product_metrics = True  # type: ignore[attr-defined]
    initialize_cursor.__wrapped__ = original_func  # type: ignore[attr-defined]
    Environment.initialize_cursor = classmethod(initialize_cursor)  # type: ignore[method-assign]


def prepare() -> None:
    """Apply this module's two adjustments to dbt and dbt-duckdb in this process."""
    _stable_duckdb_profile_hash()
    _settings_only_when_changed()


def main() -> None:
    prepare()
    from dbt.cli.main import cli

    cli()


if __name__ == "__main__":
    main()
