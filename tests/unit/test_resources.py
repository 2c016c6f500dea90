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
