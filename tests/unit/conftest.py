"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest


@pytest.fixture()
def file_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a new, empty DuckDB file (tmp_path / "w.duckdb"), closed after the test."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield con
    con.close()
