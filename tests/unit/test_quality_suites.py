"""Landing suites: in sync with contract.py, valid rows pass, broken rows fail critical, and
the SQL push-down gives GX's verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES, create_typed_table_sql
from dagster_project.quality import gx_runner, make_suites, pushdown
from dagster_project.quality.suites import landing_suite_name, load_suite, suite_names
from dagster_project.settings import EXPECTATIONS_DIR

SAMPLE_VALUES = {
    "text": "{name}_{i}",
    "currency": "USD",
    "json": '{{"plan": "pro", "n": {i}}}',
    "timestamp": "2025-01-0{i} 10:00:00",
    "date": "2025-01-0{i}",
    "money": "1{i}.5",
    "int": "{i}",
    "bool": "true",
}


def valid_row(source: str, i: int) -> dict[str, str]:
    """A row keeping every contract rule; ``i`` makes ids (and dates) differ."""
    row = {}
    for col in SOURCES[source].columns:
        if col.enum:
            row[col.name] = col.enum[0]
        else:
            row[col.name] = SAMPLE_VALUES[col.type].format(name=col.name, i=i)
    if source == "fx_rates":  # rate_to_reporting is the older name of rate: one of them
        row["rate_to_reporting"] = None
    return row


def raw_table(con: duckdb.DuckDBPyConnection, source: str, rows: list[dict[str, object]]) -> str:
    """Create raw.<source> (typed, with lineage columns) holding ``rows``."""
    con.execute("create schema if not exists raw")
    con.execute(f"drop table if exists raw.{source}")
    con.execute(create_typed_table_sql(source, f"raw.{source}"))
    columns = SOURCES[source].column_names
    for line, row in enumerate(rows, start=2):
        values = [row.get(c) for c in columns] + [f"{source}/file.csv", line]
        marks = ", ".join("?" for _ in values)
        con.execute(
            f"insert into raw.{source} values ({marks}, timestamp '2025-01-10 00:00:00')",
            values,
        )
    return f"raw.{source}"


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set TimeZone='UTC'")
    yield connection
    connection.close()


def test_quality_suites_equal_make_suites_output() -> None:
    stale = make_suites.stale_files(EXPECTATIONS_DIR)
    assert not stale, (
        f"{[p.name for p in stale]} differ from contract.py: run "
        "`python -m dagster_project.quality.make_suites` and commit expectations/"
    )
    assert set(suite_names()) == set(make_suites.all_suites())


def test_quality_one_landing_suite_per_source_and_one_per_mart() -> None:
    assert set(suite_names("raw_")) == {landing_suite_name(s) for s in SOURCES}
    assert set(suite_names("marts_")) >= {
        "marts_saas_metrics_monthly", "marts_mrr_movements_monthly",
        "marts_customer_cohorts_monthly", "marts_product_usage_daily",
        "marts_user_cohorts_monthly", "marts_nps_monthly", "marts_leads_monthly",
        "marts_kpi_scorecard",
    }


@pytest.mark.parametrize("name", sorted(make_suites.all_suites()))
def test_quality_every_suite_loads_in_gx(name: str) -> None:
    import great_expectations as gx

    with (EXPECTATIONS_DIR / f"{name}.json").open() as f:
        suite = gx.ExpectationSuite(**json.load(f))
    assert len(suite.expectations) == len(load_suite(name)["expectations"])
    assert {e.severity.value for e in suite.expectations} <= {"critical", "warning", "info"}


def test_quality_contract_rules_are_critical_freshness_volume_warning() -> None:
    for source in SOURCES:
        suite = load_suite(landing_suite_name(source))
        for e in suite["expectations"]:
            stats = (e.get("meta") or {}).get("frame") == "stats"
            assert e["severity"] == ("warning" if stats else "critical"), (source, e)


def test_quality_uniqueness_is_on_distinct_rows_except_last_row_wins() -> None:
    for source, src in SOURCES.items():
        unique = [e for e in load_suite(landing_suite_name(source))["expectations"]
                  if "unique" in e["type"]]
        if src.key and src.on_conflict != "last_wins":
            assert [e["meta"] for e in unique] == [{"rows": "distinct"}], source
        else:
            assert unique == [], source


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_quality_landing_suite_passes_on_valid_rows(source: str, con) -> None:
    # the first row landed twice, identically: accepted in raw, deduplicated in staging
    table = raw_table(con, source, [valid_row(source, 1), valid_row(source, 1),
                                    valid_row(source, 2)])
    suite = load_suite(landing_suite_name(source))
    by_gx = gx_runner.validate_table(con, table, suite)
    by_sql = pushdown.validate_table_sql(con, table, suite)
    assert by_gx.passed, by_gx.description
    assert by_sql.passed, by_sql.description
    assert len(by_sql.outcomes) == len(by_gx.outcomes) > 0


def test_quality_unknown_enum_fails_critical(con) -> None:
    bad = {**valid_row("subscription_events", 2), "event_type": "paused"}
    table = raw_table(con, "subscription_events",
                      [valid_row("subscription_events", 1), bad])
    suite = load_suite("raw_subscription_events")
    for result in (gx_runner.validate_table(con, table, suite),
                   pushdown.validate_table_sql(con, table, suite)):
        assert not result.passed
        assert result.worst_severity == "critical"
        failed = {o.name: o for o in result.failed}
        assert list(failed) == ["expect_column_values_to_be_in_set(event_type)"]
        assert failed["expect_column_values_to_be_in_set(event_type)"].unexpected_sample == (
            "paused",)
        assert "expect_column_values_to_be_in_set(event_type)" in result.description


def _broken_rows(source: str) -> list[dict[str, object]]:
    """Valid rows plus one row per kind of breakage the suite must catch."""
    src = SOURCES[source]
    rows: list[dict[str, object]] = [valid_row(source, 1), valid_row(source, 2)]
    required = [c for c in src.columns if c.required and c.name not in src.key]
    if required:
        rows.append({**valid_row(source, 3), required[0].name: None})
    for col in src.columns:
        if col.enum:
            rows.append({**valid_row(source, 4), col.name: "bogus"})
        if col.non_negative:
            rows.append({**valid_row(source, 5), col.name: "-1"})
        if col.type == "currency":
            rows.append({**valid_row(source, 6), col.name: "usd"})
        if col.type == "json":
            rows.append({**valid_row(source, 7), col.name: "{not json"})
    if src.key and src.on_conflict != "last_wins":
        # same id as row 1, different content
        changed = next(c.name for c in src.columns if c.name not in src.key)
        rows.append({**valid_row(source, 1), changed: valid_row(source, 8)[changed]})
    return rows


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_quality_sql_pushdown_gives_gx_verdicts(source: str, con) -> None:
    table = raw_table(con, source, _broken_rows(source))
    suite = load_suite(landing_suite_name(source))
    by_gx = gx_runner.validate_table(con, table, suite)
    by_sql = pushdown.validate_table_sql(con, table, suite)
    assert [o.name for o in by_sql.outcomes] == [o.name for o in by_gx.outcomes]
    for g, s in zip(by_gx.outcomes, by_sql.outcomes, strict=True):
        assert s.success == g.success, (g.name, g, s)
        if g.unexpected_count is not None and s.unexpected_count is not None:
            assert s.unexpected_count == g.unexpected_count, g.name
    assert not by_sql.passed, "the broken rows must fail"


def test_quality_distinct_rows_with_one_id_are_an_error(con) -> None:
    first = valid_row("invoices", 1)
    table = raw_table(con, "invoices", [first, first, {**first, "amount": "99"}])
    result = pushdown.validate_table_sql(con, table, load_suite("raw_invoices"))
    failed = {o.name: o for o in result.failed}
    assert set(failed) == {"expect_column_values_to_be_unique(invoice_id)"}
    outcome = failed["expect_column_values_to_be_unique(invoice_id)"]
    assert outcome.unexpected_count == 2 and outcome.unexpected_sample == ("invoice_id_1",)
    assert outcome.where == "invoices/file.csv line 2"


def test_quality_sql_pushdown_reports_a_missing_table_and_column(con) -> None:
    suite = load_suite("raw_leads")
    missing = pushdown.validate_table_sql(con, "raw.leads", suite)
    assert missing.passed and "not built" in missing.description
    con.execute("create schema raw")
    con.execute("create table raw.leads (lead_id varchar, created_at timestamp)")
    partial = pushdown.validate_table_sql(con, "raw.leads", suite)
    assert not partial.passed
    assert any("missing from the table" in (o.error or "") for o in partial.failed)


def test_quality_make_suites_check_mode(tmp_path: Path) -> None:
    assert make_suites.main(["--out", str(tmp_path), "--check"]) == 1
    assert make_suites.main(["--out", str(tmp_path)]) == 0
    assert make_suites.main(["--out", str(tmp_path), "--check"]) == 0


def test_quality_freshness_and_volume_fail_as_warnings(con) -> None:
    rows = [{**valid_row("leads", 1), "lead_id": f"l{d}_{n}",
             "created_at": f"2025-01-{d:02d} 09:00:00"}
            for d in range(1, 8) for n in range(12)]
    rows += [{**valid_row("leads", 1), "lead_id": "late", "created_at": "2025-01-08 09:00:00"}]
    raw_table(con, "leads", rows)
    suite = load_suite("raw_leads")
    fresh = pushdown.freshness_volume(con, "raw.leads", suite, pushdown.reference_time("2025-01-08"))
    assert fresh.stats["newest_day_rows"] == 1 and fresh.stats["recent_daily_avg"] == 12
    assert not fresh.passed and fresh.result.worst_severity == "warning"
    assert [o.column for o in fresh.result.failed] == ["volume_ratio"]
    stale = pushdown.freshness_volume(con, "raw.leads", suite, pushdown.reference_time("2025-03-01"))
    assert {o.column for o in stale.result.failed} == {"newest_age_days", "volume_ratio"}
    assert {o.severity for o in stale.result.failed} == {"warning"}
    assert stale.description.startswith("raw.leads: STALE newest row 2025-01-08 09:00:00 is ")
