"""Which days a run covers (schedule, sensor, command line) and how the daily facts are
built (incremental slice or in full): pure functions and a small DuckDB file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.build import run_config
from dagster_project.cli import main
from dagster_project.defs.ingest.sensors import build_landing_sensor, landing_window
from dagster_project.defs.partitions import (
    backfill_window,
    daily_partitions,
    landing_day,
    lookback_window,
    range_tags,
    today,
    window_of_run,
)
from dagster_project.defs.publish.schedules import build_schedules, nightly_window
from dagster_project.errors import MetricsError
from dagster_project.ingest.changes import ensure_change_tables, record_batch
from dagster_project.settings import load_settings
from dagster_project.transform import incremental

D = dt.date


def settings(tmp_path: Path, **kw: object):
    return load_settings(env={}, base_dir=tmp_path, **kw)


@pytest.mark.parametrize(("path", "day"), [
    ("product_events/dt=2024-08-28/events.parquet", D(2024, 8, 28)),
    ("product_events/region=eu/dt=2024-01-01/sub/dt=2024-02-03/x.csv", D(2024, 2, 3)),
    ("product_events/events.parquet", None),
    ("product_events/dt=2024-13-01/x.csv", None),
    ("product_events/xdt=2024-01-01/x.csv", None),
])
def test_a_file_lands_for_the_day_of_its_dt_folder(path: str, day: D | None) -> None:
    assert landing_day(path) == day


def test_the_nightly_window_is_the_day_and_the_look_back(tmp_path: Path) -> None:
    s = settings(tmp_path)
    parts = daily_partitions(s)
    assert lookback_window(D(2024, 8, 28), s, parts) == ("2024-08-25", "2024-08-28")
    s7 = settings(tmp_path, lookback_days=7, partitions_start="2024-08-24")
    assert lookback_window(D(2024, 8, 28), s7, daily_partitions(s7)) == ("2024-08-24", "2024-08-28")
    # a day beyond the last partition (tomorrow's) is cut to the last one: today
    today = dt.datetime.now(dt.UTC).date()
    assert lookback_window(today + dt.timedelta(days=30), s, parts)[1] == today.isoformat()


def test_the_schedule_runs_the_last_complete_day_in_the_reporting_time_zone(tmp_path: Path) -> None:
    at = dt.datetime(2024, 8, 29, 2, 0, tzinfo=dt.UTC)
    assert nightly_window(at, settings(tmp_path)) == ("2024-08-25", "2024-08-28")
    # 02:00 UTC is still Aug 28 in Los Angeles: its last complete day is Aug 27
    la = settings(tmp_path, reporting_timezone="America/Los_Angeles")
    assert nightly_window(at, la) == ("2024-08-24", "2024-08-27")
    schedule = build_schedules(settings(tmp_path), "daily_build")[0]
    request = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at))
    (run,) = request.run_requests
    assert run.tags | range_tags(("2024-08-25", "2024-08-28")) == run.tags
    assert run.run_key == "nightly-2024-08-28"


def test_the_landing_sensor_runs_the_newest_day_that_landed(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert landing_window(["users/dt=2024-08-27/u.csv", "product_events/dt=2024-08-28/e.parquet"],
                          s) == ("2024-08-25", "2024-08-28")
    (s.landing_dir / "product_events" / "dt=2024-08-28").mkdir(parents=True)
    (s.landing_dir / "product_events" / "dt=2024-08-28" / "e.csv").write_text("event_id\n")
    sensor = build_landing_sensor(s, "daily_build")
    with dg.instance_for_test() as instance:
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        (run,) = first.run_requests
        assert run.tags["dagster/asset_partition_range_end"] == "2024-08-28"
        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert not again.run_requests  # nothing new


def test_a_backfill_range_is_checked(tmp_path: Path) -> None:
    parts = daily_partitions(settings(tmp_path))
    assert backfill_window("2024-01-01", "2024-01-31", parts) == ("2024-01-01", "2024-01-31")
    with pytest.raises(MetricsError, match="first day is after the last"):
        backfill_window("2024-02-01", "2024-01-01", parts)
    with pytest.raises(MetricsError, match="outside the daily partitions"):
        backfill_window("2019-12-31", "2020-01-02", parts)
    with pytest.raises(MetricsError, match="YYYY-MM-DD"):
        backfill_window("2024-1-1x", "2024-01-02", parts)


def test_from_and_to_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--from", "2024-01-01"]) == 2
    assert "--from and --to go together" in capsys.readouterr().err


def test_the_dbt_step_rebuilds_the_days_of_its_run(tmp_path: Path) -> None:
    s = settings(tmp_path, lookback_days=2)
    # a nightly, sensor or backfill run: its partition range
    assert window_of_run(range_tags(("2024-08-01", "2024-08-31")), s) == (
        "2024-08-01", "2024-08-31")
    # a run of one partition
    assert window_of_run({"dagster/partition": "2024-08-05"}, s) == ("2024-08-05", "2024-08-05")
    # launched without a partition (the UI's Materialize): the nightly window ending today
    end = today(s)
    assert window_of_run({}, s) == ((end - dt.timedelta(days=2)).isoformat(), end.isoformat())


def test_a_full_refresh_re_derives_every_source_and_the_daily_facts() -> None:
    ops = run_config(full_refresh=True)["ops"]
    assert ops["dbt_models"] == {"config": {"full_refresh": True}}
    assert ops["raw__product_events"] == {"config": {"full_refresh": True}}
    assert run_config(full_refresh=False) == {}


# --- incremental or full? ---------------------------------------------------------------

WINDOW = (D(2024, 3, 5), D(2024, 3, 6))
NOW = dt.datetime(2024, 3, 7, 3)


def _warehouse(with_tables: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    ensure_change_tables(con)
    con.execute("create schema raw")
    con.execute("create table raw.product_events (event_id varchar, occurred_at timestamp)")
    con.execute("insert into raw.product_events values ('e1', '2024-03-05 10:00'), "
                "('e2', '2024-03-06 23:59'), ('e3', '2024-03-07 00:00'), ('e0', '2024-03-01')")
    if with_tables:
        for schema, table in incremental.TABLES:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {schema}.{table} (x int)")
    return con


def test_the_first_build_and_a_full_refresh_are_full() -> None:
    assert incremental.plan(_warehouse(False), WINDOW, "fp").reason.startswith("first build")
    con = _warehouse()
    assert incremental.plan(con, WINDOW, "fp").reason.startswith("no record")
    incremental.record(con, incremental.plan(con, WINDOW, "fp"), checked=True)
    assert incremental.plan(con, WINDOW, "fp").mode == "incremental"
    assert incremental.plan(con, WINDOW, "fp", full_refresh=True).mode == "full"
    assert "changed" in incremental.plan(con, WINDOW, "other fingerprint").reason


def test_a_run_takes_the_batches_it_has_not_seen_and_counts_its_slice() -> None:
    con = _warehouse()
    record_batch(con, "product_events", "full", 1, 3, NOW)  # batch 1, seen by the first build
    incremental.record(con, incremental.plan(con, WINDOW, "fp"), checked=False)
    con.execute("create temp table cls as select * from (values ('e9', 'u1', timestamp "
                "'2024-02-01 10:00'), ('e2', 'u2', timestamp '2024-03-06 23:59')) "
                "t(event_id, user_id, occurred_at)")
    record_batch(con, "users", "incremental", 1, 5, NOW)  # batch 2 (another source)
    record_batch(con, "product_events", "incremental", 1, 2, NOW, classified="cls")  # 3
    planned = incremental.plan(con, WINDOW, "fp")
    assert (planned.mode, planned.changes_after, planned.changes_through) == ("incremental", 1, 3)
    # e1 and e2 occurred on Mar 5-6 (e3 at midnight is Mar 7); e9 is a late event
    assert (planned.window_events, planned.changed_events, planned.changed_outside_window) == (2, 2, 1)
    assert planned.extra_days == ["2024-02-01"]  # the late event's day
    assert planned.env() == {"DBT_MIN_DATE": "2024-03-05", "DBT_MAX_DATE": "2024-03-06",
                             "DBT_EXTRA_DAYS": "2024-02-01"}
    incremental.record(con, planned, checked=True)  # the change log is pruned once seen
    assert con.execute("select count(*) from incremental.changed_product_events").fetchall() == [(0,)]


def test_a_full_re_derive_of_product_events_forces_a_full_build() -> None:
    con = _warehouse()
    incremental.record(con, incremental.plan(con, WINDOW, "fp"), checked=True)
    record_batch(con, "product_events", "full", 9, 9, NOW)
    planned = incremental.plan(con, WINDOW, "fp")
    assert planned.mode == "full" and "re-derived in full" in planned.reason


def test_the_rules_tests_look_at_the_slice_only_after_a_build_they_passed() -> None:
    con = _warehouse()
    incremental.record(con, incremental.plan(con, WINDOW, "fp"), checked=False)
    planned = incremental.plan(con, WINDOW, "fp")  # the last build did not run them (or failed)
    assert planned.mode == "incremental" and not planned.checks_slice
    assert "DBT_CHECK_SLICE" not in planned.env()
    incremental.record(con, planned, checked=True)
    planned = incremental.plan(con, WINDOW, "fp")
    assert planned.checks_slice and planned.env()["DBT_CHECK_SLICE"] == "1"
    # a full build checks whole tables, whatever the last build did
    full = incremental.plan(con, WINDOW, "fp", full_refresh=True)
    assert not full.checks_slice and full.env() == {}


def test_a_state_from_before_the_checked_column_plans_whole_table_tests() -> None:
    con = _warehouse()
    con.execute("create schema if not exists incremental")
    con.execute("create table incremental.dbt_state (name varchar, changes_through bigint, "
                "fingerprint varchar, mode varchar, min_date date, max_date date, "
                "updated_at timestamp)")
    con.execute("insert into incremental.dbt_state values ('product_events_facts', 0, 'fp', "
                "'full', null, null, null)")
    planned = incremental.plan(con, WINDOW, "fp")
    assert planned.mode == "incremental" and not planned.checks_slice
    incremental.record(con, planned, checked=True)  # adds the column
    assert incremental.plan(con, WINDOW, "fp").checks_slice


def test_the_sliced_tests_and_their_rules_are_in_the_fingerprint() -> None:
    def manifest(rules: list) -> dict:
        test = {"resource_type": "test", "test_metadata": {
            "name": "model_rules", "kwargs": {"slice_by": "occurred_date", "rules": rules}},
            "depends_on": {"nodes": ["model.product_metrics.stg_product__events"]}}
        other = {"resource_type": "test", "test_metadata": {
            "name": "model_rules", "kwargs": {"rules": rules}},
            "depends_on": {"nodes": ["model.product_metrics.stg_product__events"]}}
        return {"nodes": {"test.a": test, "test.b": other}, "macros": {}, "metadata": {}}

    one, two = manifest([{"unique": ["event_id"]}]), manifest([{"not_null": ["event_id"]}])
    assert incremental.sliced_tests(one) == ["test.a"]  # names a slice_by column
    assert incremental.fingerprint(one, {}) != incremental.fingerprint(two, {})
    assert incremental.sliced_tests_passed(one, [{"unique_id": "test.a", "status": "pass"}])
    assert not incremental.sliced_tests_passed(one, [{"unique_id": "test.a", "status": "warn"}])
    assert not incremental.sliced_tests_passed(one, [])  # not run: not checked


def test_a_build_stops_when_another_process_holds_the_warehouse(tmp_path: Path) -> None:
    import subprocess
    import sys

    from dagster_project.build import nightly_end_day

    s = settings(tmp_path)
    s.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(s.warehouse_path)).close()
    hold = (f"import duckdb, sys; c = duckdb.connect({str(s.warehouse_path)!r}); "
            "print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(MetricsError, match="One writer at a time"):
            nightly_end_day(s)
    finally:
        holder.communicate("", timeout=30)
