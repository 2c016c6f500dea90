"""A build killed while it held the warehouse's pool slot must not block every later run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test, instance_for_test

from dagster_project.build import release_stale_claims


@pytest.fixture()
def instance(tmp_path):
    with instance_for_test(temp_dir=str(tmp_path)) as inst:
        yield inst


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _started_run(instance: dg.DagsterInstance, pid: int, host: str | None = None) -> str:
    run = create_run_for_test(
        instance, status=dg.DagsterRunStatus.STARTED,
        tags={"product-metrics/pid": str(pid), "product-metrics/host": host or socket.gethostname()},
    )
    return run.run_id


def test_the_slot_of_a_killed_build_is_freed_and_its_run_marked_failed(instance) -> None:
    storage = instance.event_log_storage
    storage.set_concurrency_slots("duckdb", 1)
    dead = _started_run(instance, _dead_pid())
    alive = _started_run(instance, os.getpid())
    elsewhere = _started_run(instance, _dead_pid(), host="another-machine")
    storage.claim_concurrency_slot("duckdb", dead, "dbt_models")
    storage.claim_concurrency_slot("duckdb", alive, "raw__users")  # waits: the slot is taken
    storage.claim_concurrency_slot("duckdb", elsewhere, "raw__users")

    released = release_stale_claims(instance)

    assert released == [f"run {dead} (pool duckdb): process gone, marked failed"]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    # the live run and the one on another machine (cannot be probed) keep waiting
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED
    info = storage.get_concurrency_info("duckdb")
    assert {s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps} == {
        alive, elsewhere}
    assert release_stale_claims(instance) == []  # nothing more to release


def test_a_finished_run_still_holding_a_slot_is_released(instance) -> None:
    storage = instance.event_log_storage
    storage.set_concurrency_slots("duckdb", 1)
    done = create_run_for_test(instance, status=dg.DagsterRunStatus.SUCCESS).run_id
    storage.claim_concurrency_slot("duckdb", done, "dbt_models")
    assert release_stale_claims(instance) == [f"run {done} (pool duckdb): already finished"]
    assert storage.get_concurrency_info("duckdb").claimed_slots == []
