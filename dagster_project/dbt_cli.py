"""``product-metrics-dbt``: dbt's own command line, with partial parsing that survives a
change of warehouse file.

dbt re-parses the whole project (about 15 s of CPU here: 63 models, ~550 tests) whenever
the hash of the profile's connection changes, and dbt-duckdb hashes the database file's
path and its DuckDB settings (memory limit, spill folder). Neither changes what dbt
parses: the catalog name, which does, is the file's stem and stays in the hash. So a
build against another warehouse (a second landing folder, every test, every benchmark
scale) reuses the previous parse. The pipeline runs dbt through this entry point;
everything else (arguments, exit codes, output) is dbt's.
"""

from __future__ import annotations

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


def main() -> None:
    _stable_duckdb_profile_hash()
    from dbt.cli.main import cli

    cli()


if __name__ == "__main__":
    main()
