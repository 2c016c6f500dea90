"""Resources every domain imports: the working warehouse and the settings it is opened with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.settings import Settings


def open_duckdb(
    path: Path | str,
    *,
    memory_limit: str = "8GB",
    threads: int = 2,
    temp_dir: Path | str | None = None,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file in UTC with the configured limits (never at import time)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone='UTC'")
    con.execute(f"set memory_limit='{memory_limit}'")
    con.execute(f"set threads={int(threads)}")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory='{temp_dir}'")
    return con


class WarehouseResource(dg.ConfigurableResource):
    """The working warehouse (DuckDB file). Only one process may hold it read-write, so
    every asset that opens it runs in the ``duckdb`` pool (one at a time)."""

    warehouse_path: str
    memory_limit: str = "8GB"
    threads: int = 2
    temp_dir: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            warehouse_path=str(settings.warehouse_path),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            temp_dir=str(settings.duckdb_temp_dir),
        )

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_duckdb(
            self.warehouse_path,
            memory_limit=self.memory_limit,
            threads=self.threads,
            temp_dir=self.temp_dir,
            read_only=read_only,
        )
        try:
            yield con
        finally:
            con.close()
