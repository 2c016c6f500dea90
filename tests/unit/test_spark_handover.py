"""The hand-over between DuckDB and Spark, without Spark: the raw export and the mirror."""

from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES, create_typed_table_sql
from dagster_project.defs.transform.spark import export_raw, mirror_tables, table_dir
from dagster_project.errors import MetricsError


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("set TimeZone='UTC'")
    con.execute("create schema raw")
    for name in SOURCES:
        con.execute(create_typed_table_sql(name, f"raw.{name}"))
    con.execute(
        "insert into raw.fx_rates (rate_date, currency, rate_to_reporting, _file, _line, _ingested_at) "
        "values (date '2024-01-01', 'EUR', 1.1, 'fx_rates/a.csv', 2, timestamp '2024-01-02 03:04:05.123456')"
    )
    return con


def test_every_raw_table_is_exported_with_its_columns_even_when_empty(con, tmp_path: Path) -> None:
    raw_dir = tmp_path / "spark" / "raw"
    counts = export_raw(con, raw_dir)
    assert set(counts) == set(SOURCES) and counts["fx_rates"] == 1 and counts["users"] == 0
    for name in SOURCES:
        got = [c for c, *_ in con.execute(f"describe select * from '{raw_dir}/{name}/data.parquet'").fetchall()]
        want = [c for c, *_ in con.execute(f"describe raw.{name}").fetchall()]
        assert got == want
    # naive UTC timestamps keep their microseconds and stay naive (Spark reads TIMESTAMP_NTZ)
    (ts, kind), = con.execute(
        f"select _ingested_at, typeof(_ingested_at) from '{raw_dir}/fx_rates/data.parquet'").fetchall()
    assert str(ts) == "2024-01-02 03:04:05.123456" and kind == "TIMESTAMP"


def test_a_new_export_replaces_the_old_one_whole(con, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    export_raw(con, raw_dir)
    (raw_dir / "fx_rates" / "stale.parquet").write_text("left over")
    con.execute("delete from raw.fx_rates")
    assert export_raw(con, raw_dir)["fx_rates"] == 0
    assert sorted(p.name for p in (raw_dir / "fx_rates").iterdir()) == ["data.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("raw")) == ["raw"]


def test_mirror_copies_spark_table_files_into_duckdb(con, tmp_path: Path) -> None:
    wh = tmp_path / "warehouse"
    folder = table_dir(wh, "marts.nps_monthly")
    assert folder == wh / "marts.db" / "nps_monthly"
    folder.mkdir(parents=True)
    for i, rows in enumerate([[("2024-01-01", 3)], [("2024-02-01", 5)]]):
        con.execute(
            f"copy (select cast(m as date) as month, r as responses from (values {rows[0]}) t(m, r)) "
            f"to '{folder}/part-0000{i}.parquet' (format parquet)")
    (folder / "_SUCCESS").write_text("")
    assert mirror_tables(con, wh, ["marts.nps_monthly"]) == {"marts.nps_monthly": 2}
    assert con.execute("select sum(responses) from marts.nps_monthly").fetchone()[0] == 8
    with pytest.raises(MetricsError, match="marts.missing has no Parquet files"):
        mirror_tables(con, wh, ["marts.missing"])
