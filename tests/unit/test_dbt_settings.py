"""dbt's DuckDB settings survive a model that spilled (dagster_project/compat.py).

dbt-duckdb runs the profile's settings as SETs on every cursor; DuckDB refuses
``SET temp_directory`` once it has spilled there. These tests spill for real: a sort of
3 million rows under a 64MB memory limit on one thread (about a second).
"""

from __future__ import annotations

import pytest
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments import Environment
from dbt.adapters.duckdb.environments.local import LocalEnvironment

from dagster_project.compat import prepare_dbt as prepare

SPILLING_SORT = (
    "create or replace table sorted as "
    "select i, hash(i) as h from range(3000000) r(i) order by h"
)


def _environment(tmp_path):
    settings = {
        "threads": "1",
        "memory_limit": "64MB",
        "temp_directory": str(tmp_path / "spill"),
        "TimeZone": "UTC",
    }
    creds = DuckDBCredentials(
        database="w", schema="main", path=str(tmp_path / "w.duckdb"),
        settings=settings, keep_open=True,
    )
    return LocalEnvironment(creds), settings


def _spill(env, tmp_path):
    first = env.handle()
    first.cursor().execute(SPILLING_SORT)
    spilled = list((tmp_path / "spill").iterdir())
    assert spilled, "the sort did not spill: the test would prove nothing"
    return first


def test_a_cursor_after_a_spill_keeps_the_profile_settings(tmp_path):
    prepare()
    env, settings = _environment(tmp_path)
    _spill(env, tmp_path)
    second = env.handle()  # dbt opens one per model: this raised before the fix
    cur = second.cursor()
    cur.execute("select count(*), count(distinct h) from sorted")
    assert cur.fetchone() == (3000000, 3000000)
    cur.execute(
        "select current_setting('temp_directory'), current_setting('TimeZone'), "
        "current_setting('threads')"
    )
    assert cur.fetchone() == (settings["temp_directory"], "UTC", 1)
    env.close()


def test_the_scenario_fails_with_dbt_duckdb_as_released(tmp_path):
    prepare()
    env, _ = _environment(tmp_path)
    _spill(env, tmp_path)
    released = Environment.initialize_cursor.__func__.__wrapped__
    with pytest.raises(Exception, match="Cannot switch temporary directory"):
        released(Environment, env.creds, env.conn.cursor())
    env.close()


def test_a_changed_setting_is_still_applied(tmp_path):
    prepare()
    env, _ = _environment(tmp_path)
    handle = env.handle()
    cur = handle.cursor()
    cur.execute("set TimeZone = 'Europe/Paris'")  # some model changed it
    cur = env.handle().cursor()  # the next model gets the profile's value back
    cur.execute("select current_setting('TimeZone')")
    assert cur.fetchone() == ("UTC",)
    env.close()


def test_the_settings_are_read_in_one_query_and_one_by_one_when_one_is_unknown(tmp_path):
    import duckdb

    from dagster_project.compat import _current_settings

    con = duckdb.connect(config={"threads": 1, "temp_directory": str(tmp_path / "t")})
    statements = []
    cursor = con.cursor()

    class Counting:
        def execute(self, sql, params=None):
            statements.append(sql)
            return cursor.execute(sql, params)

    assert _current_settings(Counting(), ["temp_directory", "threads"]) == [
        str(tmp_path / "t"), "1"]
    assert len(statements) == 1
    statements.clear()
    # a key this DuckDB does not know: the others still read, that one None (dbt-duckdb's
    # own SET then names it)
    assert _current_settings(Counting(), ["threads", "no_such_setting"]) == ["1", None]
    assert len(statements) == 3
    con.close()


def test_a_profile_setting_this_duckdb_does_not_know_is_left_to_dbt_duckdb(tmp_path):
    prepare()
    env, _ = _environment(tmp_path)
    env.creds.settings["no_such_setting"] = "1"
    with pytest.raises(Exception, match="no_such_setting"):
        env.handle()
    env.close()
