"""Resources every domain imports: the working warehouse and the settings it is opened with."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from dagster_project.settings import Settings

# Databases a build holds open between its steps (holding_open), and the connection that
# holds each. Opening a DuckDB database costs ~25-35 ms (the instance starts: its
# extensions, its catalog) and a build opened the warehouse ~40 times, once per step and
# check; while a connection to it is open, another one costs ~0.1 ms.
_HOLDING: set[str] = set()
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}


def _key(database: str | Path) -> str:
    return os.path.abspath(str(database))


@contextlib.contextmanager
def holding_open(database: str | Path) -> Iterator[None]:
    """Within the block, the first read-write connection to ``database`` (through
    :meth:`WarehouseResource.connect`) keeps the database open for the connections after it,
    read-only ones included (they get a connection of the open database), until
    :func:`release` or the end of the block, which closes it (DuckDB then checkpoints)."""
    key = _key(database)
    _HOLDING.add(key)
    try:
        yield
    finally:
        _HOLDING.discard(key)
        release(database)


def release(database: str | Path) -> None:
    """Close the held connection to ``database``, if any: before another process opens the
    file (dbt), and at the end of the build."""
    con = _HELD.pop(_key(database), None)
    if con is not None:
        con.close()


def held_cursor(database: str | Path) -> duckdb.DuckDBPyConnection | None:
    """A cursor of the connection a build holds to ``database`` (None when none is held),
    for a thread of the build that reads while the steps go on; the caller closes it."""
    con = _HELD.get(_key(database))
    return None if con is None else con.cursor()


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
        in the connection config before its time zone extension is loaded). Within
        :func:`holding_open` (a build) every connection after the first read-write one is a
        connection of the database that one opened."""
        key = _key(self.database)
        held = _HELD.get(key)
        if held is not None:  # a build between its steps: a connection of the open database
            con = held.cursor()
            try:
                con.execute("set TimeZone='UTC'")
                yield con
            finally:
                con.close()
            return
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        temp = self.connection_config.get("temp_directory")
        if temp:
            Path(temp).mkdir(parents=True, exist_ok=True)
        if not read_only:
            with self.get_connection() as con:
                try:
                    con.execute("set TimeZone='UTC'")
                    if key in _HOLDING:  # a connection of its own (a cursor closes with con)
                        _HELD[key] = duckdb.connect(self.database, config={
                            "custom_user_agent": "dagster", **self.connection_config})
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
