"""The incremental models rebuild their slice exactly (macros/incremental.sql): whole days,
those of the window and the extra days on which the new ingestion batches' events
occurred (the pipeline computes them; here they are given).

One small product, reporting time zone UTC. Night 0 (a full build):

    e1 view  Mar 1 10:00 u1      e4 click Mar 5 09:00 u1
    e2 view  Mar 1 11:00 u1      e5 view  Mar 5 10:00 anonymous
    e3 view  Mar 2 09:00 u2      e8 view  Mar 3 12:00 u4

Night 1, window Mar 5 .. Mar 6, extra days Mar 1, Mar 2, Mar 3:
    e6 Mar 6 u3 lands (in the window);
    e7 Mar 2 u2 lands four days late (outside the window);
    copies of e2 and e8 with other content land: ingestion quarantines both copies of
    each, so e2 and e8 leave raw (u1's Mar 1 loses an event, Mar 3 loses its only one)
    although those days are outside the window;
    an identical copy of e3 lands in a file that sorts first: it becomes the survivor.

Expected user-days after night 1: u1 Mar 1 = 1 event, u2 Mar 2 = 2, u1 Mar 5 = 1,
u3 Mar 6 = 1, nothing on Mar 3; and both tables equal a full rebuild of the same raw rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.dbt_harness import build_fixture_warehouse, query, run_dbt

EVENTS = """
event_id,event_name,occurred_at,user_id,anonymous_id
e1,view,2024-03-01 10:00:00,u1,
e2,view,2024-03-01 11:00:00,u1,
e3,view,2024-03-02 09:00:00,u2,
e4,click,2024-03-05 09:00:00,u1,
e5,view,2024-03-05 10:00:00,,a1
e8,view,2024-03-03 12:00:00,u4,
"""
SELECT = ["--select", "stg_product__events int_user_activity_daily"]
STG = "select event_id, occurred_date, user_id, _file from staging.stg_product__events order by 1"
DAYS = ("select user_id, activity_date, event_count from intermediate.int_user_activity_daily "
        "order by activity_date, user_id")


def night_one(path: Path) -> None:
    """What ingestion of night 1 leaves in raw."""
    con = duckdb.connect(str(path))
    try:
        con.execute("set TimeZone='UTC'")
        con.execute("delete from raw.product_events where event_id in ('e2', 'e8')")
        con.execute("""insert into raw.product_events values
            ('e6', 'view', '2024-03-06 08:00:00', 'u3', null, null, 'product_events/n1.csv', 2,
             '2024-03-07 03:00:00'),
            ('e7', 'view', '2024-03-02 15:00:00', 'u2', null, null, 'product_events/n1.csv', 3,
             '2024-03-07 03:00:00'),
            ('e3', 'view', '2024-03-02 09:00:00', 'u2', null, null, 'product_events/0_early.csv',
             2, '2024-03-07 03:00:00')""")
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
                            "DBT_EXTRA_DAYS": "2024-03-02,2024-03-01,2024-03-03"}.items():
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
        # Mar 3 lost its only event (e8): the day is empty now
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
