"""Issue: quarantine reasons used to repeat the bad value, and ops.quarantine is published:
an e-mail typed into a date column, or a phone number in a survey score, reached the
serving database. Every landed value below is personal; none may appear in a published
string, a quarantine reason or a build message (the raw record stays in the working
warehouse's quarantine, unpublished)."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.ingest import ingest_all
from dagster_project.publish.publisher import publish

NOW = datetime(2024, 3, 1, 12, 0, 0)
SECRETS = (
    "jane.doe@corp-secret.com",
    "bob.secret@mail.test",
    "+1 555 0199",
    "carol@private.example",
    "dave@leak.example",
    "erin@dup.example",
    "frank@broken.example",
    "please call me back",
)

FILES = {
    "users/u.csv": (
        "user_id,customer_id,signed_up_at,email\n"
        "u1,c1,2024-01-02,ok@example.com\n"
        "u2,c1,jane.doe@corp-secret.com,jane@example.com\n"  # e-mail in a timestamp
        "carol@private.example,c1,2024-01-03,\n"  # an id that is an e-mail, landed twice
        "carol@private.example,c2,2024-01-04,\n"  # ... with different content
    ),
    "survey_responses/s.csv": (
        "response_id,survey,responded_at,score,customer_id,user_id,comment\n"
        "r1,nps,2024-01-05,eleven - call me at bob.secret@mail.test,c1,u1,\n"
        "r2,nps,2024-01-05,99,c1,u1,please call me back\n"  # out of range, with a comment
        "r3,csat,2024-01-05,+1 555 0199,c1,u1,\n"
        "r4,nps,2024-01-05,9,c1,u1,please call me back\n"
    ),
    "invoices/i.csv": (
        "invoice_id,customer_id,issued_at,amount,currency\n"
        "i1,c1,2024-01-05,dave@leak.example,USD\n"  # e-mail in an amount
        "i2,c1,2024-01-05,10,erin@dup.example\n"  # e-mail in a currency
        "i3,c1,2024-01-05,10,USD,frank@broken.example\n"  # too many columns
    ),
}


def _land(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # A truncated gzip file whose readable part holds an e-mail: DuckDB's error may quote it.
    whole = gzip.compress(b"lead_id,created_at\nl1,2024-01-01\nfrank@broken.example,x\n" * 50)
    (root / "leads").mkdir()
    (root / "leads" / "l.csv.gz").write_bytes(whole[: len(whole) // 2])
    return root


def test_no_landed_personal_value_reaches_a_reason_a_message_or_the_serving_database(
    tmp_path: Path,
) -> None:
    landing = _land(tmp_path / "landing")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    results = ingest_all(con, landing, now=NOW)
    reasons = [r[0] for r in con.execute("select reason from ops.quarantine").fetchall()]
    # The rows were quarantined (so the test exercises the reasons), each naming its column.
    assert len(reasons) >= 8
    assert "unparsable timestamp in column signed_up_at" in reasons
    assert "unparsable integer in column score" in reasons
    assert "score out of range for nps (0-10) in column score" in reasons
    assert "duplicate user_id with different content (also in users/u.csv:5)" in reasons
    # The raw records are kept in the working warehouse for the people allowed there.
    assert con.execute(
        "select count(*) from ops.quarantine where raw_record like '%jane.doe@corp-secret.com%'"
    ).fetchone()[0] == 1

    con.execute("create schema if not exists marts")
    con.execute("create table marts.example as select 1 as n")
    serving = tmp_path / "serving.duckdb"
    publish(con, serving, tmp_path / "parquet")
    con.close()

    messages = [m for r in results.values() for m in (*r.messages, *r.quarantine_sample)]
    assert messages  # the build says what it quarantined ...
    published = duckdb.connect(str(serving), read_only=True)
    texts = list(messages) + reasons
    for schema, table, column in published.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall():
        texts += [v for (v,) in published.execute(
            f'select "{column}" from {schema}."{table}" where "{column}" is not null').fetchall()]
    assert any("signed_up_at" in t for t in texts)
    for secret in SECRETS:
        leaks = [t for t in texts if secret in t]
        assert leaks == [], f"{secret!r} leaked: {leaks[:3]}"
