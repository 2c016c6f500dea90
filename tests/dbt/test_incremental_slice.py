"""The incremental models rebuild their slice exactly (macros/incremental.sql): the days
of the window, plus every event id and user-day the new ingestion batches touched.

One small product, reporting time zone UTC. Night 0 (batch 1, a full build):

    e1 view  Mar 1 10:00 u1      e4 click Mar 5 09:00 u1
    e2 view  Mar 1 11:00 u1      e5 view  Mar 5 10:00 anonymous
    e3 view  Mar 2 09:00 u2

Night 1 (batch 2), window Mar 5 .. Mar 6:
    e6 Mar 6 u3 lands (in the window);
    e7 Mar 2 u2 lands four days late (outside the window);
    a copy of e2 with other content lands: ingestion quarantines both copies, so e2
    leaves raw (and u1's Mar 1 loses an event) although Mar 1 is outside the window;
    an identical copy of e3 lands in a file that sorts first: it becomes the survivor.

Expected user-days after night 1: u1 Mar 1 = 1 event, u2 Mar 2 = 2, u1 Mar 5 = 1,
u3 Mar 6 = 1; and both tables equal a full rebuild of the same raw rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.changes import changes_table, ensure_change_tables
from tests.dbt_harness import build_fixture_warehouse, query, run_dbt

EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
e1,view,2024-03-01 10:00:00,u1,
e2,view,2024-03-01 11:00:00,u1,
e3,view,2024-03-02 09:00:00,u2,
e4,click,2024-03-05 09:00:00,u1,
e5,view,2024-03-05 10:00:00,,a1
"""
SELECT = ["--select", "stg_product__events int_user_activity_daily"]
STG = "select event_id, occurred_date, user_id, _file from staging.stg_product__events order by 1"
DAYS = ("select user_id, activity_date, event_count from intermediate.int_user_activity_daily "
        "order by activity_date, user_id")


def night_one(path: Path) -> None:
    """What ingestion of night 1 leaves in raw and in the change log (batch 2)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("set TimeZone='UTC'")
        ensure_change_tables(con)
        con.execute("delete from raw.product_events where event_id = 'e2'")
        con.execute("""insert into raw.product_events values
            ('e6', 'view', '2024-03-06 08:00:00', 'u3', null, null, 'product_events/n1.csv', 2,
             '2024-03-07 03:00:00'),
            ('e7', 'view', '2024-03-02 15:00:00', 'u2', null, null, 'product_events/n1.csv', 3,
             '2024-03-07 03:00:00'),
            ('e3', 'view', '2024-03-02 09:00:00', 'u2', null, null, 'product_events/0_early.csv',
             2, '2024-03-07 03:00:00')""")
        # every row the batch re-derived: the new ones and the old rows of their keys
        con.execute(f"""insert into {changes_table('product_events')} values
            (2, 'e6', 'u3', '2024-03-06 08:00:00'), (2, 'e7', 'u2', '2024-03-02 15:00:00'),
            (2, 'e2', 'u1', '2024-03-01 11:00:00'), (2, 'e2', 'u9', '2024-03-01 11:30:00'),
            (2, 'e3', 'u2', '2024-03-02 09:00:00'), (2, 'e3', 'u2', '2024-03-02 09:00:00')""")
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    path = tmp_path_factory.mktemp("slice") / "warehouse.duckdb"
    build_fixture_warehouse(path, {"product_events": EVENTS})
    run_dbt(path, ["build", *SELECT])
    night_one(path)
    # The slice travels in environment variables, as the pipeline passes it: dbt's vars
    # stay the same, so the later runs parse the project partially.
    mp = pytest.MonkeyPatch()
    try:
        for name, value in {"DBT_MIN_DATE": "2024-03-05", "DBT_MAX_DATE": "2024-03-06",
                            "DBT_CHANGES_AFTER": "1", "DBT_CHANGES_THROUGH": "2"}.items():
            mp.setenv(name, value)
        run_dbt(path, ["build", *SELECT])
    finally:
        mp.undo()
    out = {"stg": query(path, STG), "days": query(path, DAYS)}
    run_dbt(path, ["build", *SELECT, "--full-refresh"])
    out |= {"stg_full": query(path, STG), "days_full": query(path, DAYS)}
    return out


def test_late_and_retracted_events_land_on_their_own_days(runs: dict) -> None:
    assert runs["days"] == [
        ("u1", date(2024, 3, 1), 1),  # e2 retracted (quarantined) outside the window
        ("u2", date(2024, 3, 2), 2),  # e7 four days late, outside the window
        ("u1", date(2024, 3, 5), 1),
        ("u3", date(2024, 3, 6), 1),
    ]


def test_an_identical_copy_in_an_earlier_file_becomes_the_survivor(runs: dict) -> None:
    e3 = [r for r in runs["stg"] if r[0] == "e3"]
    assert e3 == [("e3", date(2024, 3, 2), "u2", "product_events/0_early.csv")]


def test_the_incremental_tables_equal_a_full_rebuild(runs: dict) -> None:
    assert runs["stg"] == runs["stg_full"]
    assert runs["days"] == runs["days_full"]
    assert [r[0] for r in runs["stg"]] == ["e1", "e3", "e4", "e5", "e6", "e7"]
