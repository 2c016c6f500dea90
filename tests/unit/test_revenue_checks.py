"""The singular dbt test assert_movements_match_customer_mrr_changes on hand-made states
and movements: it passes on the right movements and names each wrong one. Its SQL is read
from the dbt project, with ref() pointed at the fixture tables."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_SQL = ROOT / "dbt_models" / "tests" / "revenue" / "assert_movements_match_customer_mrr_changes.sql"

# Customer A: s1 created Jan 10 at 100 and changed the same day to 150 (the day's last state
# counts), canceled Mar 5; s2 created Feb 1 at 50. So A's MRR at the end of each day: 0
# until Jan 9, 150 from Jan 10, 200 from Feb 1, 50 from Mar 5.
# Customer B: s3 created and canceled on Jan 15: no change at any day's end, no movement.
STATES = [
    ("s1", "A", "2024-01-10", 1, 100), ("s1", "A", "2024-01-10", 2, 150),
    ("s1", "A", "2024-03-05", 3, 0), ("s2", "A", "2024-02-01", 1, 50),
    ("s3", "B", "2024-01-15", 1, 80), ("s3", "B", "2024-01-15", 2, 0),
]
MOVEMENTS = [
    ("A", "2024-01-10", "new", 0, 150),
    ("A", "2024-02-01", "expansion", 150, 200),
    ("A", "2024-03-05", "contraction", 200, 50),
]


def _failures(states, movements) -> list[tuple]:
    con = duckdb.connect()
    con.execute("create table states (subscription_id varchar, customer_id varchar, "
                "effective_date date, state_sequence bigint, mrr decimal(38, 10))")
    con.execute("create table movements (customer_id varchar, movement_date date, "
                "movement_type varchar, mrr_before decimal(38, 10), mrr_after decimal(38, 10))")
    con.executemany("insert into states values (?, ?, ?, ?, ?)", states)
    con.executemany("insert into movements values (?, ?, ?, ?, ?)", movements)
    sql = re.sub(r"\{\{ ref\('int_subscription_states'\) \}\}", "states", TEST_SQL.read_text())
    sql = re.sub(r"\{\{ ref\('int_mrr_movements'\) \}\}", "movements", sql)
    sql = re.sub(r"\{\{ config\(.*?\) \}\}", "", sql)  # Dagster's metadata, not SQL
    assert "{{" not in sql
    rows = con.execute(f"select customer_id, cast(check_date as varchar), "
                       f"cast(recomputed_mrr_before as integer), cast(recomputed_mrr_after as integer) "
                       f"from ({sql}) order by 1, 2").fetchall()
    return rows


def test_the_right_movements_pass() -> None:
    assert _failures(STATES, MOVEMENTS) == []


@pytest.mark.parametrize(("movements", "failing"), [
    # a wrong amount: the recomputed change on Feb 1 is 150 -> 200
    ([MOVEMENTS[0], ("A", "2024-02-01", "expansion", 150, 190), MOVEMENTS[2]],
     [("A", "2024-02-01", 150, 200)]),
    # a change with no movement
    (MOVEMENTS[:2], [("A", "2024-03-05", 200, 50)]),
    # a movement where the day's end shows no change (B's same-day create and cancel)
    ([*MOVEMENTS, ("B", "2024-01-15", "new", 0, 80)], [("B", "2024-01-15", 0, 0)]),
    # a movement on a day without any state, where nothing changed
    ([*MOVEMENTS, ("A", "2024-02-20", "expansion", 200, 210)], [("A", "2024-02-20", 200, 200)]),
])
def test_each_wrong_movement_is_named(movements, failing) -> None:
    assert _failures(STATES, movements) == failing


def test_a_later_state_of_the_same_day_governs() -> None:
    # s1's second state on Jan 10 at 120 instead of 150: every later figure moves
    states = [("s1", "A", "2024-01-10", 2, 120) if s[:4] == ("s1", "A", "2024-01-10", 2) else s
              for s in STATES]
    assert _failures(states, MOVEMENTS) == [
        ("A", "2024-01-10", 0, 120), ("A", "2024-02-01", 120, 170), ("A", "2024-03-05", 170, 50)]
