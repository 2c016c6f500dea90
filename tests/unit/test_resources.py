"""The working warehouse's resource (dagster_project/resources.py): dagster-duckdb's
DuckDBResource with our settings and read-only opens."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.resources import WarehouseResource


def test_a_warehouse_connection_is_closed_when_its_body_raises(tmp_path) -> None:
    """dagster-duckdb's get_connection closes only after a clean exit; ours always does, so a
    failed step never leaves the file open with settings a later read-only open conflicts
    with."""
    warehouse = WarehouseResource(database=str(tmp_path / "w.duckdb"),
                                  connection_config={"temp_directory": str(tmp_path / "t")})
    kept = []
    with pytest.raises(RuntimeError), warehouse.connect() as con:
        kept.append(con)
        raise RuntimeError("the step failed")
    with pytest.raises(duckdb.ConnectionException):
        kept[0].execute("select 1")
    with warehouse.connect(read_only=True) as con:
        assert con.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)


def _one_database(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` is a connection of the database that attached ``probe`` (an attached
    database belongs to the open database, not to one connection)."""
    names = {r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()}
    return "probe" in names


def test_a_build_holds_the_warehouse_open_between_its_steps(tmp_path) -> None:
    import subprocess
    import sys

    from dagster_project.resources import holding_open, release

    path = tmp_path / "w.duckdb"
    warehouse = WarehouseResource(database=str(path), connection_config={"threads": 1})
    with holding_open(path):
        with warehouse.connect() as con:  # the first read-write open holds the database
            con.execute("create table t as select 42 as x")
            con.execute("attach ':memory:' as probe")
        with warehouse.connect(read_only=True) as con:  # a later step, even read-only
            assert _one_database(con)
            assert con.execute("select x from t").fetchall() == [(42,)]
            assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        release(path)  # as before dbt: another process can now open the file
        other = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
            capture_output=True, text=True, check=False)
        assert other.returncode == 0, other.stderr
        with warehouse.connect() as con:  # not the database of before: it was closed
            assert not _one_database(con)
            con.execute("attach ':memory:' as probe")
        with warehouse.connect() as con:  # and held again
            assert _one_database(con)
    # The block's end closes it: checkpointed, and the file is free.
    assert not path.with_name(path.name + ".wal").exists()
    with warehouse.connect() as con:
        assert not _one_database(con)
        assert con.execute("select x from t").fetchall() == [(42,)]


def test_outside_a_build_every_connection_opens_the_database(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    warehouse = WarehouseResource(database=str(path), connection_config={"threads": 1})
    with warehouse.connect() as con:
        con.execute("attach ':memory:' as probe")
    with warehouse.connect() as con:
        assert not _one_database(con)
