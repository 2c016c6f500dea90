"""The serving database opens in the DuckDB 1.x that BI drivers bundle, and carries the
descriptions of its tables and columns."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import duckdb
import pytest

from dagster_project.defs.publish.assets import mart_comments
from dagster_project.errors import MetricsError
from dagster_project.publish.publisher import publish
from dagster_project.settings import load_settings


def _storage_number(path: Path) -> int:
    """The storage version in a DuckDB file's main header (after the checksum and 'DUCK')."""
    head = path.read_bytes()[:20]
    assert head[8:12] == b"DUCK"
    return struct.unpack("<Q", head[12:20])[0]


@pytest.fixture()
def warehouse(file_warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    file_warehouse.execute("""
        create schema marts;
        create schema ops;
        create table marts.saas_metrics_monthly as
            select date '2024-01-01' as month, 370.0 as mrr_end, 'x' as not_documented;
        create table ops.quarantine as
            select 'invoices' as source, 'f.csv' as file, 2 as line, 'rule' as reason,
                   '{}' as raw_record;
    """)
    return file_warehouse


def test_the_serving_file_is_in_the_v1_4_format_with_comments(warehouse, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    publish(warehouse, serving, tmp_path / "parquet", comments=mart_comments())
    # 67 is the number DuckDB 1.4 writes (and reads); DuckDB 2.0's own format is 999, which
    # a 1.x client refuses ("Trying to read a database file with version number 999").
    assert _storage_number(serving) == 67
    con = duckdb.connect(str(serving), read_only=True)
    try:
        tables = dict(con.execute("select schema_name || '.' || table_name, comment "
                                  "from duckdb_tables()").fetchall())
        columns = dict(con.execute("select column_name, comment from duckdb_columns() "
                                   "where table_name = 'saas_metrics_monthly'").fetchall())
    finally:
        con.close()
    assert tables["marts.saas_metrics_monthly"].startswith(
        "Company SaaS metrics, one row per month")
    assert tables["ops.quarantine"] == ("Rejected landing rows: file, line and the rule broken "
                                       "(never the value).")
    meta = dict(duckdb.execute(
        f"select decode(key), decode(value) from parquet_kv_metadata("
        f"'{tmp_path / 'parquet' / 'saas_metrics_monthly.parquet'}')").fetchall())
    assert meta["description"] == tables["marts.saas_metrics_monthly"]
    assert json.loads(meta["column_descriptions"])["month"] == "First day of the month."
    assert columns == {"month": "First day of the month.",
                       "mrr_end": "Total MRR at the end of the month's last day, or of "
                                  "as_of_date for the as-of month.",
                       "not_documented": None}


def test_latest_writes_this_duckdb_s_own_format(warehouse, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    publish(warehouse, serving, tmp_path / "parquet", storage_version="latest")
    assert _storage_number(serving) != 67


@pytest.mark.parametrize(("value", "ok"), [("v1.4.0", True), ("latest", True), ("1.4", False)])
def test_the_storage_setting_is_checked(value: str, ok: bool) -> None:
    env = {"METRICS_SERVING_STORAGE_VERSION": value}
    if ok:
        assert load_settings(env=env).serving_storage_version == value
    else:
        with pytest.raises(MetricsError, match="METRICS_SERVING_STORAGE_VERSION='1.4' is invalid"):
            load_settings(env=env)


def test_a_mart_with_personal_data_is_refused_and_nothing_is_left_behind(
        warehouse, tmp_path: Path) -> None:
    """The refusal comes inside publish's one transaction: it is rolled back, the new file
    removed, the served file untouched, and the warehouse connection usable (a later
    publish works)."""
    serving = tmp_path / "serving.duckdb"
    publish(warehouse, serving, tmp_path / "parquet")
    before = serving.read_bytes()
    warehouse.execute("create table marts.leads_by_person as select 'a@b.c' as email, 1 as n")
    with pytest.raises(MetricsError, match=r"marts\.leads_by_person.*'email'.*personal data"):
        publish(warehouse, serving, tmp_path / "parquet")
    assert serving.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if "publishing" in p.name]
    assert warehouse.execute("select count(*) from duckdb_databases() "
                             "where database_name = 'serving_new'").fetchone() == (0,)
    warehouse.execute("drop table marts.leads_by_person")
    summary = publish(warehouse, serving, tmp_path / "parquet")
    assert summary.tables["marts.saas_metrics_monthly"] == 1
    assert "not_documented" in [r[0] for r in duckdb.connect(str(serving), read_only=True).execute(
        "select column_name from duckdb_columns() where table_name = 'saas_metrics_monthly'"
    ).fetchall()]
