"""Resources every domain imports: the working warehouse and the settings it is opened with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from dagster_project.settings import Settings


class WarehouseResource(DuckDBResource):
    """The working warehouse (DuckDB file): dagster-duckdb's ``DuckDBResource`` with the
    settings' limits as its ``connection_config``, and read-only opens besides (the library
    opens read-write only). Only one process may hold the file read-write, so every asset
    that opens it runs in the ``duckdb`` pool (one at a time)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            database=str(settings.warehouse_path),
            connection_config={
                "memory_limit": settings.duckdb_memory_limit,
                "threads": settings.duckdb_threads,
                "temp_directory": str(settings.duckdb_temp_dir),
            },
        )

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection in UTC (the time zone is set after connecting: DuckDB refuses it
        in the connection config before its time zone extension is loaded)."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        temp = self.connection_config.get("temp_directory")
        if temp:
            Path(temp).mkdir(parents=True, exist_ok=True)
        if not read_only:
            with self.get_connection() as con:
                try:
                    con.execute("set TimeZone='UTC'")
                    yield con
                finally:  # the library closes it only when the body did not raise
                    con.close()
            return
        con = duckdb.connect(self.database, read_only=True, config=dict(self.connection_config))
        try:
            con.execute("set TimeZone='UTC'")
            yield con
        finally:
            con.close()
