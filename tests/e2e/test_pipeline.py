"""End to end: demo data -> ingestion -> dbt -> checks -> publish."""

import re
from pathlib import Path

import duckdb

# docs/MARTS.md (contract tables): the fixed published columns.
PUBLISHED = {
    "saas_metrics_monthly": (
        "month, mrr_start, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, "
        "churned_mrr, mrr_end, net_new_mrr, arr_end, customers_start, new_customers, "
        "reactivated_customers, churned_customers, customers_end, arpa, logo_churn_rate, "
        "customer_retention_rate, gross_mrr_churn_rate, net_mrr_churn_rate, "
        "net_revenue_retention, gross_revenue_retention, quick_ratio, ltv, "
        "sales_marketing_spend, cac, ltv_to_cac, cac_payback_months"
    ),
    "mrr_movements_monthly": (
        "month, segment, region, acquisition_channel, mrr_start, new_mrr, expansion_mrr, "
        "reactivation_mrr, contraction_mrr, churned_mrr, mrr_end, net_new_mrr, arr_end, "
        "customers_start, new_customers, reactivated_customers, churned_customers, customers_end"
    ),
    "customer_cohorts_monthly": (
        "cohort_month, months_since_start, cohort_customers, active_customers, logo_retention, "
        "cohort_start_mrr, mrr, revenue_retention"
    ),
    "product_usage_daily": (
        "date, dau, wau, mau, stickiness, new_users, total_users, active_pct_of_base"
    ),
    "user_cohorts_monthly": (
        "cohort_month, months_since_start, cohort_users, active_users, user_retention"
    ),
    "nps_monthly": "month, responses, promoters, passives, detractors, nps",
    "leads_monthly": (
        "month, leads, qualified_leads, converted_leads, lead_to_customer_rate, "
        "lead_velocity_rate_pct"
    ),
    "kpi_scorecard": (
        "kpi, grain, period_start, actual, target, attainment, status, previous_actual, change"
    ),
}


def test_every_contract_table_is_published_with_its_columns(serving) -> None:
    for table, columns in PUBLISHED.items():
        have = [r[0] for r in serving.execute(f"describe marts.{table}").fetchall()]
        want = [c.strip() for c in columns.split(",")]
        missing = [c for c in want if c not in have]
        assert not missing, f"marts.{table} lacks {missing}"
        assert serving.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table


def test_no_personal_data_is_published(serving) -> None:
    cols = serving.execute(
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns"
    ).fetchall()
    assert not [c for c in cols if c[2] in {"email", "comment", "raw_record"}]
    for schema, table, column, dtype in cols:
        if dtype != "VARCHAR":
            continue
        n = serving.execute(
            f'select count(*) from "{schema}"."{table}" where "{column}" like \'%@%\''
        ).fetchone()[0]
        assert n == 0, f"{schema}.{table}.{column} holds e-mail-like values"


def test_every_file_balances_and_the_demo_has_no_quarantine(serving) -> None:
    unbalanced = serving.execute(
        "select * from ops.ingestion_log "
        "where landed_rows <> accepted_rows + quarantined_rows"
    ).fetchall()
    assert unbalanced == []
    assert serving.execute("select count(*) from ops.ingestion_log").fetchone()[0] >= 10
    assert serving.execute("select count(*) from ops.quarantine").fetchone()[0] == 0


def test_the_mrr_bridge_reconciles_in_the_published_marts(serving) -> None:
    off = serving.execute(
        """select month from marts.saas_metrics_monthly
           where abs(mrr_start + new_mrr + expansion_mrr + reactivation_mrr
                     - contraction_mrr - churned_mrr - mrr_end) >= 0.005"""
    ).fetchall()
    assert off == []
    diff = serving.execute(
        """with seg as (
               select month, sum(mrr_end) as mrr_end, sum(customers_end) as customers_end,
                      sum(new_mrr) as new_mrr, sum(churned_mrr) as churned_mrr
               from marts.mrr_movements_monthly group by month)
           select s.month from marts.saas_metrics_monthly s
           left join seg using (month)
           where abs(coalesce(seg.mrr_end, 0) - s.mrr_end) >= 0.005
              or coalesce(seg.customers_end, 0) <> s.customers_end
              or abs(coalesce(seg.new_mrr, 0) - s.new_mrr) >= 0.005
              or abs(coalesce(seg.churned_mrr, 0) - s.churned_mrr) >= 0.005"""
    ).fetchall()
    assert diff == []


def test_the_build_report_says_where_the_marts_are(built) -> None:
    settings, report = built
    text = report.describe()
    assert "Build passed" in text
    assert str(settings.serving_path) in text
    assert re.search(r"\d+ checks run", text)
    assert "`product-metrics query --list`" in text
    # The demo lands no exchange rates (the seed's serve): a source with nothing landed is
    # not judged stale, so `make run` (as of the demo's last day) ends without warnings.
    assert not [w for w in report.warnings if w.startswith("raw/fx_rates")], report.warnings


def test_the_build_closed_its_databases_before_it_returned(built) -> None:
    # `product-metrics` ends its process without Python's shutdown (cli.entry): whatever a
    # build wrote must be in the database files by then, not in a write-ahead log that only
    # the next writer would fold in (DuckDB checkpoints a database when it is closed).
    settings, _ = built
    for path in (settings.warehouse_path, settings.serving_path):
        assert path.exists()
        assert not path.with_name(path.name + ".wal").exists(), path


def test_a_rebuild_with_nothing_new_does_nothing_and_says_so(built) -> None:
    """The nightly run on a night when nothing landed: no step runs, the served file is the
    same file, byte for byte, and the summary says why."""
    import hashlib

    from dagster_project.build import run_build

    settings, first = built
    served = settings.serving_path.read_bytes()
    inode = settings.serving_path.stat().st_ino
    from dagster_project import build_state

    assert build_state.changes(settings) == []
    report = run_build(settings)
    assert report.success and not report.published and report.nothing_new is not None
    assert report.materialized == 0 and report.checks_run == 0
    assert report.run_id == first.run_id
    assert report.describe().startswith("Nothing new landed:")
    assert settings.serving_path.stat().st_ino == inode
    assert hashlib.sha256(settings.serving_path.read_bytes()).digest() == (
        hashlib.sha256(served).digest())


def test_product_metrics_docs_writes_dbt_docs_as_one_file(built, tmp_path: Path, capsys) -> None:
    from dagster_project.cli import main

    settings, _ = built
    out = tmp_path / "dbt_docs"
    assert main(["docs", "--warehouse", str(settings.warehouse_path), "--out", str(out)]) == 0
    page = out / "static_index.html"
    assert f"dbt docs: {page}" in capsys.readouterr().out
    html = page.read_text()
    # the manifest and the catalog (column types read from the warehouse) are inlined
    assert "saas_metrics_monthly" in html and "Total MRR at the end of the month" in html
    assert '"mrr_end"' in html and "DOUBLE" in html.upper()


DUCKDB1 = Path(__file__).resolve().parents[2] / ".venv" / "duckdb1"
READ_WITH_1X = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute("select table_name, comment from duckdb_tables() where schema_name = 'marts'").fetchall()
out = {"version": duckdb.__version__, "tables": {}}
for name, comment in tables:
    n = con.execute(f'select count(*) from marts."{name}"').fetchone()[0]
    cols = dict(con.execute("select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                            "and table_name = ?", [name]).fetchall())
    out["tables"][name] = {"rows": n, "comment": comment, "columns": cols}
print(json.dumps(out))
"""


def test_a_duckdb_1x_client_reads_every_mart_and_its_comments(built) -> None:
    """What a BI driver bundling DuckDB 1.x sees (`make test` installs duckdb 1.4.4 beside the
    venv, in .venv/duckdb1)."""
    import json
    import os
    import subprocess
    import sys

    import pytest

    if not (DUCKDB1 / ".installed").exists():
        pytest.skip("no DuckDB 1.x client: `make test` installs one in .venv/duckdb1")
    settings, _ = built
    done = subprocess.run([sys.executable, "-c", READ_WITH_1X, str(settings.serving_path)],
                          env={**os.environ, "PYTHONPATH": str(DUCKDB1)}, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["version"].startswith("1.")
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        rows = dict(con.execute("select table_name, estimated_size from duckdb_tables() "
                                "where schema_name = 'marts'").fetchall())
        counts = {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in rows}
    finally:
        con.close()
    assert {t: v["rows"] for t, v in seen["tables"].items()} == counts
    for name, table in seen["tables"].items():
        assert table["comment"], f"marts.{name} has no comment"
    assert seen["tables"]["saas_metrics_monthly"]["columns"]["mrr_end"] == (
        "Total MRR at the end of the month's last day, or of as_of_date for the as-of month.")
