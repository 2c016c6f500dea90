"""Write-audit-publish: a failed check leaves the served data exactly as it was."""

import hashlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def published_copy(tmp_path: Path, built) -> Path:
    """A private copy of a good build (landing, warehouse, serving) to break on purpose."""
    settings, _ = built
    root = tmp_path / "copy"
    shutil.copytree(settings.landing_dir, root / "landing")
    (root / "data").mkdir(parents=True)
    shutil.copy(settings.warehouse_path, root / "data" / "warehouse.duckdb")
    shutil.copy(settings.serving_path, root / "data" / "serving.duckdb")
    shutil.copytree(settings.parquet_dir, root / "data" / "serving" / "parquet")
    return root


def _build_args(root: Path) -> list[str]:
    return ["build", "--landing", str(root / "landing"),
            "--warehouse", str(root / "data" / "warehouse.duckdb"),
            "--serving", str(root / "data" / "serving.duckdb")]


def test_quarantine_over_the_threshold_blocks_publishing(published_copy: Path, capsys) -> None:
    root = published_copy
    serving = root / "data" / "serving.duckdb"
    before, parquet_before = _sha(serving), _tree_hashes(root / "data" / "serving" / "parquet")
    # 50 customers rows with an unparsable created_at: far above the 1% default threshold.
    rows = "\n".join(f"bad_{i},not-a-date,Bad {i}" for i in range(50))
    (root / "landing" / "customers" / "zz_bad.csv").write_text(
        "customer_id,created_at,name\n" + rows + "\n"
    )
    code = main(_build_args(root))
    out = capsys.readouterr().out
    assert code == 1
    assert "Build FAILED" in out and "nothing was published" in out
    assert "quarantine_share_under_threshold" in out and "raw/customers" in out
    assert "unparsable timestamp in column created_at" in out
    assert _sha(serving) == before
    assert _tree_hashes(root / "data" / "serving" / "parquet") == parquet_before


def test_a_failing_dbt_test_blocks_publishing(published_copy: Path, capsys) -> None:
    root = published_copy
    serving = root / "data" / "serving.duckdb"
    before = _sha(serving)
    # A valid ISO code without any exchange rate: staging cannot convert it, and the
    # blocking not_null test on stg_billing__invoices.fx_rate fails.
    (root / "landing" / "invoices" / "zz_yen.jsonl").write_text(
        '{"invoice_id": "yen-1", "customer_id": "c-yen", "issued_at": "2024-03-03T10:00:00Z",'
        ' "amount": "1000", "currency": "JPY"}\n'
    )
    code = main(_build_args(root))
    out = capsys.readouterr().out
    assert code == 1
    assert "columns_not_null_stg_billing__invoices" in out and "fx_rate (1 row)" in out
    assert _sha(serving) == before


def _normalised(row: tuple) -> str:
    """A row as text, doubles to 12 significant digits. The marts hold money as DOUBLE and
    DuckDB adds doubles in parallel, in no fixed order: two builds of the same data can
    differ in the 16th digit (112182.153472 against 112182.15347200002), never in a cent."""
    return repr(tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row))


def _published_state(serving: Path) -> dict[str, list[tuple]]:
    """Every published table's rows (sorted) and the ingestion log, without build times."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()]
        state = {t: sorted(map(_normalised, con.execute(f'select * from marts."{t}"').fetchall()))
                 for t in tables}
        state["ops.ingestion_log"] = con.execute(
            "select source, file, content_hash, landed_rows, accepted_rows, quarantined_rows, "
            "ingested_at from ops.ingestion_log order by source, file"
        ).fetchall()
        return state
    finally:
        con.close()


def test_a_second_build_with_a_reader_holding_the_serving_file_changes_nothing(
    published_copy: Path,
) -> None:
    """No new files: the rebuild publishes (a reader holding the old file open does not
    block it, and keeps its consistent view) and every published number is the same."""
    root = published_copy
    serving = root / "data" / "serving.duckdb"
    before = _published_state(serving)
    assert len(before) > 20
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, time
            con = duckdb.connect({str(serving)!r}, read_only=True)
            n0 = con.execute("select count(*) from marts.saas_metrics_monthly").fetchone()[0]
            print("open", flush=True)
            deadline = time.time() + 120
            while time.time() < deadline:
                n = con.execute("select count(*) from marts.saas_metrics_monthly").fetchone()[0]
                assert n == n0, (n, n0)
                if open({str(root / 'done')!r}, 'a+').tell() > 0:
                    break
                time.sleep(0.2)
            print("reader ok", n0, flush=True)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        old_inode = serving.stat().st_ino
        code = main(_build_args(root))
        assert code == 0
        assert serving.stat().st_ino != old_inode  # a new file was swapped in
        (root / "done").write_text("x")
        out, _ = reader.communicate(timeout=60)
        assert reader.returncode == 0 and "reader ok" in out
    finally:
        if reader.poll() is None:
            reader.kill()
    assert _published_state(serving) == before
