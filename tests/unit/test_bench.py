"""bench/run.py kept working without running it at a real scale (timings are never
asserted): its measuring, its baseline scan, its stage breakdown and its verdicts."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from dagster_project.generate import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_timed_reports_wall_time_peak_memory_and_failure(bench) -> None:
    m = bench.timed([sys.executable, "-c", "x = bytearray(300 * 2**20); x[-1] = 1"])
    assert m.ok and m.seconds > 0
    assert 300 <= m.peak_rss_mib < 600  # the 300 MiB buffer, plus the interpreter
    assert not bench.timed([sys.executable, "-c", "raise SystemExit(3)"]).ok


def test_the_plain_read_reads_every_landed_row_into_tables(bench, tmp_path: Path) -> None:
    summary = generate(tmp_path / "landing", customers=20, days=30, start=date(2024, 1, 1), seed=5)
    scan = bench.plain_read(tmp_path / "landing", tmp_path / "plain.duckdb")
    counted = {source: n for source, (_, n) in scan.items()}
    # the generator's own count of what it wrote, every source and format
    assert counted == {s: n for s, n in summary.rows.items() if s in counted}
    assert set(summary.rows) <= set(counted)
    assert counted["product_events"] > 500


def test_stages_add_up_to_the_build_steps(bench, tmp_path: Path) -> None:
    steps = {"raw__users": 1.5, "raw__product_events": 2.0, "dbt_models_daily": 3.0,
             "dbt_models": 40.0, "raw_users_quality": 0.5, "marts_nps_monthly_quality": 1.0,
             "marts_buying_trend": 0.25, "serving__published_marts": 0.75}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"step_seconds": steps}))
    assert bench.stage_breakdown(report) == {
        "ingest": 3.5, "dbt build (models + dbt tests)": 43.0, "checks (Great Expectations)": 1.5,
        "reports": 0.25, "publish": 0.75,
    }


def test_a_missed_target_names_its_bottleneck(bench, tmp_path: Path) -> None:
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"elapsed_time": 70.0, "results": [
        {"unique_id": "model.p.fct_big", "execution_time": 30.0},
        {"unique_id": "model.p.dim_small", "execution_time": 2.0},
        {"unique_id": "test.p.not_null_x", "execution_time": 0.5},
        {"unique_id": "test.p.unique_x", "execution_time": 1.5},
    ]}))
    dbt = bench.dbt_summary(run_results)
    assert dbt["nodes"] == {"model": [2, 32.0], "test": [2, 2.0]}
    assert dbt["slowest"][0] == ["fct_big", 30.0]

    M = bench.Measure
    m = bench.ScaleResult("M", 10_000, 730, rows={"product_events": 12_000_000})
    m.generate = M(8.0, 900, True)
    m.baseline = {"product_events": 3.0, "users": 0.5, "releases": 0.01}
    m.baseline_total = 4.0
    m.full = M(120.0, 2500, True)
    m.full_stages = {"ingest": 20.0, "dbt build (models + dbt tests)": 80.0,
                     "checks (Great Expectations)": 15.0, "reports": 1.0, "publish": 4.0}
    m.ingestion = {"product_events": 15.0, "users": 1.0, "releases": 0.5}
    m.full_dbt = dbt
    m.nothing_new = M(6.0, 300, True, "Nothing new landed: ...")
    m.nothing_new_said = True
    m.incremental = M(18.0, 1200, True)
    small = bench.ScaleResult("small", 60, 150)
    small.full, small.bare_dbt = M(30.0, 800, True), M(2.5, 200, True)
    lines = bench.verdicts([small, m])
    assert lines[0] == (f"{bench.TARGETS['nothing new']}: M 6.0 s of 120.0 s (5%): met")
    assert lines[1].startswith(bench.TARGETS["small"] + ": 30.00 s against 2.50 s, 12.00x: MISSED")
    assert lines[2].startswith(bench.TARGETS["M full"] + ": 120.0 s, 2500 MiB against a plain "
                               "read of 4.00 s, 30.0x: MISSED")
    assert "bottleneck: dbt build (models + dbt tests), 80.0 s (67% of the steps)" in lines[2]
    assert "fct_big 30.0 s" in lines[2]
    assert "not measured" in lines[3] and "--scales L" in lines[3]
    assert lines[4] == (f"{bench.TARGETS['M nightly']}: 18.0 s, 1200 MiB, 15% of 120.0 s: met")
    # releases (0.01 s plain read) is too small to judge; product_events 5x, users 2x
    assert lines[5] == (f"{bench.TARGETS['ingestion']}: at M, product_events 5.0x, users 2.0x "
                        "(sources whose plain read takes >= 0.2 s): MISSED; worst: product_events")
    assert "not measured" in lines[6]
    text = bench.render([small, m])
    assert "| M | 10,000 | 12,000,000 |" in text and "| 30.0x | 6.0 s, 300 MiB | 5% |" in text
    # Alternated runs at the small scale: the medians are compared (13.0 / 3.2 = 4.06x: a
    # single pair, 11.5 / 3.4, would read 3.4x), and every run is listed.
    small.full_runs = [M(11.5, 400, True), M(13.0, 400, True), M(14.0, 400, True)]
    small.bare_runs = [M(3.4, 200, True), M(3.0, 200, True), M(3.2, 200, True)]
    small.full, small.bare_dbt = small.full_runs[0], bench.median_run(small.bare_runs)
    assert bench.verdicts([small])[1].startswith(
        bench.TARGETS["small"] + ": 13.00 s against 3.20 s (medians of 3 and 3 alternated "
        "runs), 4.06x: MISSED")
    small.full_runs[2] = M(12.5, 400, True)  # 12.5 / 3.2 = 3.9x
    assert ": 12.50 s against 3.20 s (medians of 3 and 3 alternated runs), 3.91x: met" in (
        bench.verdicts([small])[1])
    small.bare_runs[0] = M(9.0, 200, False)  # nor a failed baseline
    assert "MISSED" in bench.verdicts([small])[1]
    small.bare_runs[0] = M(3.4, 200, True)
    small.full_runs[1] = M(2.0, 400, False)  # a failed build never meets a target
    assert "MISSED" in bench.verdicts([small])[1]
    text = bench.render([small])
    assert "the median of 3.4 s, 3.0 s, 3.2 s." in text
    assert "alternated with the bare dbt builds: 11.5 s, 2.0 s (failed), 12.5 s" in text


def test_a_build_whose_dbt_step_did_not_run_gets_no_dbt_figures(bench, tmp_path: Path) -> None:
    import os
    import time

    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"elapsed_time": 7.5, "results": [
        {"unique_id": "model.p.fct_old", "execution_time": 7.0}]}))
    os.utime(run_results, (time.time() - 60, time.time() - 60))  # another run's file
    assert bench.dbt_summary(run_results, since=time.time() - 30) == {}
    assert bench.dbt_summary(run_results, since=time.time() - 90) == {
        "elapsed": 7.5, "nodes": {"model": [1, 7.0]}, "slowest": [["fct_old", 7.0]]}
    report = tmp_path / "full.json"
    report.write_text(json.dumps({"step_errors": [
        "dbt_models_daily: Failure: dbt build failed:\n  Out of Memory Error: 1.8 GiB used", " "]}))
    assert bench.build_errors(report) == [
        "dbt_models_daily: Failure: dbt build failed: Out of Memory Error: 1.8 GiB used"]


# --- the revenue race (scale R), without dbt or a build --------------------------------

def test_the_race_lands_each_period_as_a_created_and_a_canceled_event(bench, tmp_path: Path) -> None:
    import duckdb

    files = bench.revenue_race.generate(tmp_path, customers=300)
    con = duckdb.connect()
    periods = f"read_parquet('{files.periods}')"
    events = f"read_parquet('{files.landing}/subscription_events/*.parquet')"
    open_end = bench.revenue_race.OPEN_END
    # month-aligned, every period ends (the playbook needs an end), none overlaps the next
    bad = con.execute(f"""
        select count(*) from (
            select *, lead(start_date) over (partition by customer_id order by start_date) as nxt
            from {periods})
        where day(start_date) <> 1 or day(end_date) <> 1 or end_date <= start_date
           or end_date > date '{open_end}' or nxt < end_date""").fetchone()[0]
    assert bad == 0
    closed = con.execute(f"select count(*) from {periods} where end_date < date '{open_end}'").fetchone()[0]
    assert files.events_count == files.periods_count + closed
    # each period: created at its start with its amount; canceled at its end unless running
    mismatched = con.execute(f"""
        select count(*) from {periods} p
        left join {events} c on c.subscription_id = 's' || p.subscription_id and c.event_type = 'created'
        left join {events} x on x.subscription_id = 's' || p.subscription_id and x.event_type = 'canceled'
        where c.customer_id <> 'c' || p.customer_id or cast(c.effective_at as date) <> p.start_date
           or c.unit_amount <> p.monthly_amount
           or (p.end_date < date '{open_end}') <> (x.event_id is not null)
           or cast(x.effective_at as date) <> p.end_date""").fetchone()[0]
    assert mismatched == 0


def test_the_playbook_project_changes_only_the_listed_texts(bench, tmp_path: Path) -> None:
    race = bench.revenue_race
    checkout = tmp_path / "checkout"
    (checkout / "models").mkdir(parents=True)
    for model in race.PLAYBOOK_MODELS:
        olds = [old for changed, old, _ in race.PLAYBOOK_CHANGES if changed == model]
        (checkout / "models" / f"{model}.sql").write_text(f"select {' '.join(olds)} -- {model}\n")
    project = race.playbook_project(checkout, tmp_path / "project", tmp_path / "p.parquet")
    churn = (project / "models" / "customer_churn_month.sql").read_text()
    assert churn == "select cast({{ dbt.dateadd('month', 1, 'date_month') }} as date) -- customer_churn_month\n"
    assert "dbt_utils" not in (project / "models" / "mrr.sql").read_text()
    assert (project / "models" / "customer_revenue_by_month.sql").read_text() == (
        "select  -- customer_revenue_by_month\n")
    assert "p.parquet" in (project / "models" / "subscription_periods.sql").read_text()
    (checkout / "models" / "mrr.sql").write_text("select 1\n")  # the playbook changed upstream
    with pytest.raises(ValueError, match="models/mrr.sql of the checkout has no"):
        race.playbook_project(checkout, tmp_path / "project", tmp_path / "p.parquet")


def test_the_race_compares_monthly_mrr_and_judges_time_and_memory(bench, tmp_path: Path) -> None:
    import duckdb

    pb, ours = tmp_path / "pb.duckdb", tmp_path / "ours.duckdb"
    con = duckdb.connect(str(pb))
    con.execute("create table mrr as select * from (values (date '2024-01-01', 1, 50.0), "
                "(date '2024-01-01', 2, 25.0), (date '2024-02-01', 1, 0.0), "
                "(date '2024-02-01', 2, 25.0)) t(date_month, customer_id, mrr)")
    con.close()
    con = duckdb.connect(str(ours))
    con.execute("create schema marts")
    con.execute("create table marts.saas_metrics_monthly as select * from (values "
                "(date '2024-01-01', 75.0), (date '2024-02-01', 30.0)) t(month, mrr_end)")
    con.close()
    months, differ = bench.revenue_race.compare_mrr(pb, ours)
    assert months == 2 and differ == ["2024-02-01: playbook 25.0, product-metrics 30.0"]

    race = bench.RaceResult(customers=bench.RACE_CUSTOMERS, months=84)
    race.playbook = bench.Measure(30.0, 2000.0, True)
    race.ours = bench.Measure(59.0, 1500.0, True)
    assert bench.race_verdict(race).endswith("met")
    small = bench.RaceResult(customers=2000, months=84, playbook=race.playbook, ours=race.ours)
    assert "at 2,000 customers only" in bench.race_verdict(small)  # a smoke run never meets it
    assert bench.race_verdict(small).endswith("MISSED; no stage timings")
    race.ours = bench.Measure(61.0, 1000.0, True)
    assert "2.0x" in bench.race_verdict(race) and "MISSED" in bench.race_verdict(race)
    race.ours = bench.Measure(40.0, 1600.0, True)  # fast enough, but over 1.5 GiB
    assert "MISSED" in bench.race_verdict(race)
    race.ours, race.differ = bench.Measure(10.0, 100.0, True), ["2024-02-01: ..."]
    assert "MISSED: the monthly MRR differs in 1 of 84 months" in bench.race_verdict(race)
    assert "not measured: no checkout" in bench.race_verdict(bench.RaceResult(1, not_run="no checkout"))


def test_the_race_report_says_whether_the_answers_agree(bench) -> None:
    race = bench.RaceResult(customers=10, months=3)
    assert bench._agreement(race) == "equal in all 3 months."
    race.differ = ["2024-02-01: playbook 25.0, product-metrics 30.0"]
    assert bench._agreement(race) == (
        "1 of 3 months differ: 2024-02-01: playbook 25.0, product-metrics 30.0.")
    assert bench._agreement(bench.RaceResult(customers=10)) == "not compared."
