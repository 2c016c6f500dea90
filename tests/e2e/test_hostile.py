"""Hostile input on a copy of the demo: personal data in bad rows, a corrupt file, an
amount beyond the contract's bound, empty and header-only files. Nothing leaks, nothing is
lost, the corrupt file holds back publishing until the user allows it, and one bad value
never stops the company's numbers."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main
from tests.e2e.test_publish_gate import _build_args

SECRETS = ("jane.doe@corp-secret.com", "bob.secret@mail.test", "carol.secret@mail.test",
           "please call me back on my private line")


def _land_hostile(landing: Path) -> int:
    """Hostile files beside the demo's; returns the truncated file's size."""
    (landing / "users" / "zz_hostile.csv").write_text(
        "user_id,customer_id,signed_up_at,email\n"
        "hostile_u1,,jane.doe@corp-secret.com,jane.doe@corp-secret.com\n")
    (landing / "survey_responses" / "zz_hostile.csv").write_text(
        "response_id,survey,responded_at,score,customer_id,user_id,comment\n"
        "hostile_r1,nps,2024-08-01,eleven - call me at bob.secret@mail.test,,,\n"
        "hostile_r2,nps,2024-08-01,9,,,please call me back on my private line "
        "carol.secret@mail.test\n")
    (landing / "invoices" / "zz_hostile.csv").write_text(
        "invoice_id,customer_id,issued_at,amount,currency\n"
        "hostile_i1,hostile_c1,2024-08-01,99999999999999999999.99,USD\n")
    (landing / "invoices" / "zz_empty.csv").write_text("")
    (landing / "invoices" / "zz_header_only.csv").write_text(
        "invoice_id,customer_id,issued_at,amount,currency\n")
    whole = gzip.compress(b"lead_id,created_at\n" + b"hostile_l1,2024-08-01\n" * 50)
    truncated = landing / "leads" / "zz_truncated.csv.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    return truncated.stat().st_size


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hostile_files_leak_nothing_lose_nothing_and_stop_nothing(
    published_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = published_copy
    serving = root / "data" / "serving.duckdb"
    size = _land_hostile(root / "landing")
    before = _sha(serving)

    # 1. The corrupt file holds back publishing, named with its size; nothing else does.
    code = main(_build_args(root))
    out = capsys.readouterr().out
    assert code == 1 and "Build FAILED" in out
    assert (f"raw/leads / every_file_readable: leads: 1 landing file(s) cannot be read at all "
            f"and hold no rows: leads/zz_truncated.csv.gz ({size:,} bytes)") in out
    assert out.count("blocking check failed") == 1
    assert _sha(serving) == before

    # 2. Allowed: the build publishes, with the corrupt file as a warning.
    monkeypatch.setenv("METRICS_ALLOW_UNREADABLE_FILES", "true")
    code = main([*_build_args(root), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "marts published" in out and "every_file_readable" in out

    con = duckdb.connect(str(serving), read_only=True)
    try:
        log = {r[0]: r[1:] for r in con.execute(
            "select file, landed_rows, accepted_rows, quarantined_rows, status "
            "from ops.ingestion_log where file like '%zz_%'").fetchall()}
        assert log == {
            "users/zz_hostile.csv": (1, 0, 1, "ingested"),
            "survey_responses/zz_hostile.csv": (2, 1, 1, "ingested"),
            "invoices/zz_hostile.csv": (1, 0, 1, "ingested"),
            "invoices/zz_empty.csv": (0, 0, 0, "ingested"),
            "invoices/zz_header_only.csv": (0, 0, 0, "ingested"),
            "leads/zz_truncated.csv.gz": (0, 0, 0, "unreadable"),
        }
        assert con.execute("select count(*) from ops.ingestion_log "
                           "where landed_rows <> accepted_rows + quarantined_rows "
                           "or accepted_rows is null").fetchone()[0] == 0
        reasons = dict(con.execute("select file, reason from ops.quarantine "
                                   "where file like '%zz_%'").fetchall())
        assert reasons == {
            "users/zz_hostile.csv": "unparsable timestamp in column signed_up_at",
            "survey_responses/zz_hostile.csv": "unparsable integer in column score",
            "invoices/zz_hostile.csv": (
                "value out of range in column amount (at most 1,000,000,000,000)"),
        }
        texts: list[str] = []
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall():
            texts += [v for (v,) in con.execute(
                f'select "{column}" from {schema}."{table}" where "{column}" is not null'
            ).fetchall()]
    finally:
        con.close()
    report = (root / "data" / "serving" / "report.html").read_text()
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], secret
        assert secret not in report and secret not in out
