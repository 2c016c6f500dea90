"""Landing and mart suites: in sync with make_suites, one owner per rule (no contract row
rule and no dbt structural rule restated), and a landing suite judging a new batch against
the batches before it, with its results in the Data Docs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES
from dagster_project.quality import gx_worker, make_suites
from dagster_project.quality.batches import validate_batch
from dagster_project.quality.data_docs import DataDocs
from dagster_project.quality.gx_runner import publish_docs
from dagster_project.quality.suites import (
    landing_suite_name,
    load_suite,
    needed_columns,
    suite_names,
)
from dagster_project.settings import EXPECTATIONS_DIR


def test_quality_suites_equal_make_suites_output() -> None:
    assert make_suites.stale_files() == [], "run python -m dagster_project.quality.make_suites"


def test_quality_one_landing_suite_per_source_and_one_per_mart() -> None:
    assert set(suite_names("raw_")) == {landing_suite_name(s) for s in SOURCES}
    assert set(suite_names("marts_")) == {f"marts_{t}" for t in make_suites.MART_COLUMNS}


@pytest.mark.parametrize("name", suite_names())
def test_quality_every_suite_loads_in_gx(name: str) -> None:
    import great_expectations as gx

    suite = load_suite(name)
    assert len(gx.ExpectationSuite(**suite).expectations) == len(suite["expectations"])


# What ingestion (the contract) or dbt (the models' structure) owns, never restated in GX.
CONTRACT_TYPES = {"expect_column_values_to_be_in_type_list", "expect_column_values_to_match_regex",
                  "expect_column_values_to_be_json_parseable", "expect_column_values_to_be_unique",
                  "expect_compound_columns_to_be_unique"}
DBT_TYPES = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
             "expect_column_pair_values_a_to_be_greater_than_b",
             "expect_column_values_to_be_in_set"}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_quality_landing_suites_hold_only_rules_beyond_the_contract(source: str) -> None:
    suite = load_suite(landing_suite_name(source))
    assert suite["expectations"], source
    for e in suite["expectations"]:
        assert e["type"] not in CONTRACT_TYPES
        assert e["severity"] == "warning" and e["meta"]["rule"]
        if e["type"] == "expect_column_values_to_not_be_null":  # only the reference columns
            assert e["meta"]["frame"].startswith("references:")
    personal = {c.name for c in SOURCES[source].columns if c.personal}
    assert not personal & set(needed_columns(suite))
    assert set(suite["meta"].get("never_read", [])) == personal


@pytest.mark.parametrize("table", sorted(make_suites.MART_COLUMNS))
def test_quality_mart_suites_hold_the_column_set_and_kpi_ranges_only(table: str) -> None:
    suite = load_suite(f"marts_{table}")
    first, *rest = suite["expectations"]
    assert first["type"] == "expect_table_columns_to_match_set" and first["severity"] == "critical"
    for e in rest:  # keys, not-null columns and structural ranges are dbt tests
        assert e["type"] not in DBT_TYPES and e["type"] != "expect_column_values_to_not_be_null"
        assert e["severity"] == "warning" and e["meta"]["rule"]


def test_quality_make_suites_check_mode(tmp_path: Path) -> None:
    assert make_suites.main(["--check", "--out", str(tmp_path)]) == 1
    assert make_suites.main(["--out", str(tmp_path)]) == 0
    assert make_suites.main(["--check", "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.json"))) == len(list(EXPECTATIONS_DIR.glob("*.json")))


# ---------------------------------------------------------------------------------------
# A new batch of subscription events against the batches before it

FIRST = dt.datetime(2025, 2, 1, 3)
SECOND = dt.datetime(2025, 2, 16, 3)


def _subscription_events(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """rows: (event_id, customer_id, plan_id, unit_amount, effective day, ingested_at)."""
    from dagster_project.contract import create_typed_table_sql

    con.execute("create schema if not exists raw")
    con.execute(create_typed_table_sql("subscription_events", "raw.subscription_events"))
    for i, (event_id, customer, plan, amount, day, ingested) in enumerate(rows):
        at = dt.datetime(2025, 1, 1, 12) + dt.timedelta(days=day)
        con.execute(
            "insert into raw.subscription_events values (?, 's', ?, 'created', ?, ?, ?, "
            "'month', ?, 1, 0.0, 'USD', 'f.csv', ?, ?)",
            [event_id, customer, at, at, plan, amount, i + 2, ingested])


@pytest.fixture()
def batches(file_warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con = file_warehouse
    con.execute("create schema ops")
    con.execute("create table ops.ingestion_batches (source varchar, batch_id bigint, "
                "mode varchar, files bigint, rows bigint, ingested_at timestamp)")
    con.execute("create schema raw")
    con.execute("create table raw.customers as select 'c' || range as customer_id "
                "from range(1, 4)")
    # batch 1: 30 days x 20 events, plans basic/pro, amounts 10 and 20 (median 15)
    history = [(f"e{d}_{k}", f"c{1 + k % 3}", "basic" if k % 2 else "pro",
                10.0 if k % 2 else 20.0, d, FIRST) for d in range(30) for k in range(20)]
    # batch 2: 2 events on day 30 (a tenth of the days before) and 38 on day 31, a plan never
    # seen, amounts 100x, one unknown customer
    new = [("n1", "c1", "mega", 1500.0, 30, SECOND), ("n2", "c9", "basic", 1500.0, 30, SECOND),
           *[(f"n{3 + i}", "c2", "pro", 2000.0, 31, SECOND) for i in range(38)]]
    _subscription_events(con, history + new)
    con.execute("insert into ops.ingestion_batches values "
                "('subscription_events', 1, 'full', 1, 600, ?), "
                "('subscription_events', 7, 'incremental', 1, 40, ?)", [FIRST, SECOND])
    return con


@pytest.fixture(params=["here", "worker"])
def gx_where(request):
    """GX in this process, or in the worker process a build starts (gx_worker)."""
    if request.param == "here":
        yield None
        return
    with gx_worker.running() as worker:
        assert worker is not None and worker.call("ping") == "pong"
        yield worker


def test_quality_new_batch_is_judged_against_earlier_batches(batches, gx_where,
                                                             tmp_path: Path) -> None:
    docs = DataDocs(tmp_path / "quality")
    result = validate_batch(batches, "subscription_events",
                            load_suite("raw_subscription_events"), docs=docs)
    assert result.target == "raw.subscription_events batch 7" and result.rows == 40
    failed = {o.name: o for o in result.failed}
    assert set(failed) == {
        "expect_column_values_to_not_be_null(customer_id_in_customers)",  # c9: 1 of 3 ids
        "expect_column_values_to_be_in_set(plan_id)",  # 'mega'
        "expect_column_median_to_be_between(unit_amount)",  # 2000 vs 15 x 5 = 75
        "expect_column_values_to_be_between(volume_ratio)",  # day 30: 2 rows vs 20 a day
    }
    assert result.worst_severity == "warning"
    assert failed["expect_column_values_to_not_be_null(customer_id_in_customers)"
                  ].unexpected_count == 1
    assert failed["expect_column_median_to_be_between(unit_amount)"].observed == 2000.0
    assert failed["expect_column_values_to_be_in_set(plan_id)"
                  ].unexpected_sample == ("mega",)
    volume = failed["expect_column_values_to_be_between(volume_ratio)"]
    assert volume.unexpected_sample == (pytest.approx(2 / 20),)  # day 31 (38 / 17.4) passes
    assert "currency" not in {o.column for o in result.failed}  # USD was seen before
    # The Data Docs: one page per frame, the failing ones listed as FAIL with their values.
    assert (docs.recorded_elsewhere, len(docs.pending)) == ((5, 0) if gx_where else (0, 5))
    pages = publish_docs(docs)
    # references, distinct plan_id, distinct currency, rows, daily_volume
    assert len(pages) == 5 and all((tmp_path / "quality" / p).exists() for p in pages)
    index = (tmp_path / "quality" / "index.html").read_text()
    assert index.count(">FAIL<") == 4 and index.count(">PASS<") == 1
    assert "raw_subscription_events batch 7" in index
    median_page = next(p for p in pages if p.endswith("/rows.html"))
    assert ">2000<" in (tmp_path / "quality" / median_page).read_text()  # observed median
    assert ">mega<" in (tmp_path / "quality" / next(
        p for p in pages if "distinct_plan_id" in p)).read_text()


def test_quality_a_build_s_pages_are_written_by_the_worker_when_it_has_nothing_to_do(
        batches, tmp_path: Path) -> None:
    """A build's check gets its pages' paths at once (publish_docs later=True); the worker
    writes them when no request waits, and has written them all when it stops."""
    folder = tmp_path / "quality"
    with gx_worker.running() as worker:
        assert worker is not None
        docs = DataDocs(folder)
        validate_batch(batches, "subscription_events", load_suite("raw_subscription_events"),
                       docs=docs)
        pages = publish_docs(docs, later=True)
        assert len(pages) == 5 and docs.recorded_elsewhere == 0
        assert worker.call("flush") == []  # answered once nothing is left: no failure
        assert all((folder / p).exists() for p in pages)
        index = (folder / "index.html").read_text()
        assert index.count(">FAIL<") == 4 and index.count(">PASS<") == 1
        # Another batch's pages, not waited for: written before the worker stops.
        docs = DataDocs(folder)
        validate_batch(batches, "subscription_events", load_suite("raw_subscription_events"),
                       docs=docs)
        more = publish_docs(docs, later=True)
    assert len(more) == 5 and not set(more) & set(pages)
    assert all((folder / p).exists() for p in more)


def test_quality_pages_the_worker_cannot_write_are_named_at_the_end(
        batches, tmp_path: Path) -> None:
    """A rendering that fails in the worker (here: the folder's parent is a file) fails no
    check: the worker goes on, and ``finish`` names the pages for the build summary."""
    (tmp_path / "a_file").write_text("not a folder")
    folder = tmp_path / "a_file" / "quality"
    with gx_worker.running() as worker:
        docs = DataDocs(folder)
        result = validate_batch(batches, "subscription_events",
                                load_suite("raw_subscription_events"), docs=docs)
        assert len(result.failed) == 4 and len(publish_docs(docs, later=True)) == 5
        lines = gx_worker.finish(worker)
        assert len(lines) == 1 and lines[0].startswith(
            f"Data Docs: 5 page(s) in {folder} not written: ")
        assert gx_worker.finish(worker) == []  # named once
        assert worker.call("ping") == "pong"  # the worker goes on
    assert not folder.exists()


def test_quality_data_docs_hand_out_paths_before_the_pages_are_written(
        batches, tmp_path: Path) -> None:
    """take_pages names each recorded page once, rendered or not; render(released_only)
    writes only what was released; a validation leaves ``pending`` once both are done."""
    docs = DataDocs(tmp_path / "quality")
    validate_batch(batches, "subscription_events", load_suite("raw_subscription_events"),
                   docs=docs)
    from dagster_project.quality.gx_runner import gx_context

    context = gx_context()[0]
    assert docs.render(context, released_only=True) is False  # nothing released
    pages = docs.take_pages()
    assert len(pages) == 5 and docs.take_pages() == []
    assert not any((docs.folder / p).exists() for p in pages) and len(docs.pending) == 5
    docs.release()
    assert docs.waiting and docs.render(context, released_only=True) is True
    assert all((docs.folder / p).exists() for p in pages)
    assert docs.pending == [] and not docs.waiting and docs.publish(context) == []


def test_quality_a_dead_worker_leaves_gx_to_this_process(batches, tmp_path: Path) -> None:
    with gx_worker.running() as worker:
        assert worker is not None
        worker._proc.kill()
        worker._proc.wait()
        with pytest.raises(gx_worker.WorkerGone):
            worker.call("ping")
        docs = DataDocs(tmp_path / "quality")
        result = validate_batch(batches, "subscription_events",
                                load_suite("raw_subscription_events"), docs=docs)
        assert gx_worker.current() is None and len(result.failed) == 4
        assert len(docs.pending) == 5 and len(publish_docs(docs)) == 5


def test_quality_drift_is_not_judged_on_a_handful_of_rows(batches) -> None:
    batches.execute("delete from raw.subscription_events where event_id like 'n%' "
                    "and event_id not in ('n1', 'n2')")
    result = validate_batch(batches, "subscription_events", load_suite("raw_subscription_events"))
    assert result.rows == 2
    assert "expect_column_median_to_be_between(unit_amount)" not in {
        o.name for o in result.outcomes}
    assert result.note == "1 not judged: fewer rows than a drift needs (2 < 30)"


def test_quality_first_batch_judges_only_what_needs_no_history(batches) -> None:
    batches.execute("delete from raw.subscription_events where _ingested_at = ?", [SECOND])
    batches.execute("delete from ops.ingestion_batches where batch_id = 7")
    result = validate_batch(batches, "subscription_events", load_suite("raw_subscription_events"))
    assert result.target == "raw.subscription_events batch 1" and result.rows == 600
    assert [o.name for o in result.outcomes] == [
        "expect_column_values_to_not_be_null(customer_id_in_customers)"]
    assert result.passed
    assert result.note == "4 expectation(s) not judged: no earlier batch to compare with"


def test_quality_records_survive_and_old_pages_are_pruned(tmp_path: Path) -> None:
    from dagster_project.quality import data_docs

    folder = tmp_path / "quality"
    (folder / data_docs.RECORDS).mkdir(parents=True)
    for i in range(data_docs.KEEP_RUNS + 2):
        page = folder / f"validations/s/run{i}/t/rows.html"
        page.parent.mkdir(parents=True)
        page.write_text("x")
        (folder / data_docs.RECORDS / f"{i:02d}.json").write_text(json.dumps({
            "suite": "s", "run": f"run{i}", "label": "rows", "success": True, "failed": [],
            "time": f"2025-01-{i + 1:02d}T00:00:00", "page": f"validations/s/run{i}/t/rows.html"}))
    data_docs.prune_and_index(folder)
    assert not (folder / "validations/s/run0").exists()
    assert not (folder / "validations/s/run1").exists()
    assert (folder / "validations/s/run2/t/rows.html").exists()
    assert (folder / "index.html").read_text().count(">PASS<") == data_docs.KEEP_RUNS


def test_quality_a_gx_error_in_the_worker_reaches_the_check_and_the_worker_goes_on() -> None:
    """An expectation GX refuses (no column): the caller gets GX's error by name and message
    (as a RuntimeError: GX's own classes stay out of the build process), and the worker
    answers the next request."""
    import pandas as pd

    with gx_worker.running() as worker:
        assert worker is not None
        with pytest.raises(RuntimeError, match="(?s)ValidationError: .*column"):
            worker.call("validate", pd.DataFrame({"n": [1]}), "s",
                        [{"type": "expect_column_values_to_not_be_null", "kwargs": {}}],
                        None, None, None, "rows")
        assert worker.call("ping") == "pong" and gx_worker.current() is worker


def test_quality_the_worker_stops_with_the_block_even_while_it_loads_gx() -> None:
    with gx_worker.running() as worker:
        assert worker is not None and gx_worker.current() is worker
    assert not worker.alive and gx_worker.current() is None
