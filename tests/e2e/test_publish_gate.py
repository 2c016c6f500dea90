"""Write-audit-publish: a failed check leaves the served data exactly as it was."""

import hashlib
from pathlib import Path

from dagster_project.cli import main


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


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


def test_a_failing_dbt_test_blocks_publishing(published_copy: Path, capsys, monkeypatch) -> None:
    root = published_copy
    serving = root / "data" / "serving.duckdb"
    before = _sha(serving)
    # seeds/funnel_steps.csv has more steps than the funnel may follow: the blocking singular
    # test says so rather than let the funnel drop steps. (Bad rows cannot serve here any
    # more: ingestion quarantines whatever it can judge, e.g. a currency with no rate.)
    monkeypatch.setenv("METRICS_DBT_VARS", "{funnel_max_steps: 2}")
    code = main(_build_args(root))
    out = capsys.readouterr().out
    assert code == 1
    assert "blocking check failed" in out and "assert_funnel_steps_fit_int_funnel_progress" in out
    assert _sha(serving) == before
