"""One writer at a time: a build holds ``<warehouse>.lock``; a second one stops at once
with the holder's name, and a lock whose process died is simply taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.errors import MetricsError
from dagster_project.warehouse_lock import hold_warehouse, lock_path

HOLDER = """
import sys, time
from pathlib import Path
from dagster_project.warehouse_lock import hold_warehouse
with hold_warehouse(Path(sys.argv[1]), command="product-metrics build (test holder)"):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(warehouse: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_first_ones_name(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    proc = _holder(warehouse)
    try:
        with pytest.raises(MetricsError) as err, hold_warehouse(warehouse):
            pytest.fail("the lock was taken twice")
        message = str(err.value)
        assert f"pid {proc.pid} on {socket.gethostname()}" in message
        assert "product-metrics build (test holder)" in message
        assert "One writer at a time" in message and str(lock_path(warehouse)) in message
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_build_is_taken_over(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    proc = _holder(warehouse)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lock_path(warehouse).read_text()  # the dead holder's name is still in the file
    with hold_warehouse(warehouse):
        assert f'"pid": {os.getpid()},' in lock_path(warehouse).read_text()
    assert lock_path(warehouse).read_text() == ""  # released: nobody named


def test_the_build_command_exits_at_once_while_another_build_holds_the_warehouse(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    (tmp_path / "landing").mkdir()
    proc = _holder(warehouse)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "dagster_project.cli", "build", "--landing",
             str(tmp_path / "landing"), "--warehouse", str(warehouse)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        seconds = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("product-metrics build: another build is writing")
    assert f"pid {proc.pid}" in done.stderr and "Traceback" not in done.stderr
    assert seconds < 20
    assert not warehouse.exists()  # it touched nothing
