"""The warm dbt of a build (dagster_project/dbt_server.py): a command sent to the server runs
there, with the client's arguments, working directory, environment and standard streams,
and its exit code comes back; without a server the client runs dbt itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project import dbt_server

pytestmark = pytest.mark.skipif(not dbt_server.available(), reason="the dbt server is Linux-only")

CLIENT = [str(Path(sys.executable).with_name("product-metrics-dbt"))]  # the entry point
SERVED = [sys.executable, "-c", (
    "import os, sys; from dagster_project import dbt_server; "
    "sys.exit(dbt_server.run_via_server(os.environ['METRICS_DBT_SERVER'], "
    "['product-metrics-dbt', *sys.argv[1:]]))"
)]


@pytest.fixture(scope="module")
def server():
    with dbt_server.running() as running:
        assert running is not None
        yield running


def _run(cmd: list[str], path: str, *args: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], check=False, capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, **(env or {}),
                                        dbt_server.ENV_VAR: path})


def test_a_served_command_writes_to_the_clients_streams_and_returns_its_exit_code(server):
    # run_via_server raises NotTaken unless the server ran it: an exit code means it did.
    bad = _run(SERVED, server.path, "--no-such-option")
    assert bad.returncode == 2
    assert "No such option '--no-such-option'" in bad.stderr
    assert "Usage: product-metrics-dbt" in bad.stderr  # the client's program name

    listed = _run(SERVED, server.path, "--help")
    assert listed.returncode == 0
    assert "Commands:" in listed.stdout and "build" in listed.stdout


def test_the_command_runs_in_the_clients_directory_with_its_environment(server, tmp_path):
    # dbt debug --config-dir prints the profiles folder, here given through the client's
    # environment; dbt writes its log under the working directory.
    profiles = tmp_path / "profiles from env"
    profiles.mkdir()
    debugged = _run(SERVED, server.path, "debug", "--config-dir", cwd=tmp_path,
                    env={"DBT_PROFILES_DIR": str(profiles)})
    assert debugged.returncode == 0
    assert str(profiles) in debugged.stdout
    assert (tmp_path / "logs" / "dbt.log").exists()


def test_without_a_server_the_client_runs_dbt_itself(tmp_path):
    missing = str(tmp_path / "no-server.sock")
    with pytest.raises(dbt_server.NotTaken):
        dbt_server.run_via_server(missing, ["product-metrics-dbt", "--help"])
    done = _run(CLIENT, missing, "--no-such-option")
    assert done.returncode == 2
    assert "No such option '--no-such-option'" in done.stderr
    assert "Usage: product-metrics-dbt" in done.stderr


def test_the_server_stops_with_the_build():
    with dbt_server.running() as running:
        assert running is not None
        path = running.path
        assert os.environ[dbt_server.ENV_VAR] == path
    assert dbt_server.ENV_VAR not in os.environ or os.environ[dbt_server.ENV_VAR] != path
    assert not Path(path).exists()


def test_it_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(dbt_server.ENV_VAR, "off")
    with dbt_server.running() as running:
        assert running is None


def test_an_interrupt_of_the_client_interrupts_its_dbt(server, tmp_path):
    # dagster-dbt stops dbt with SIGINT to the process it launched, the client: the client
    # passes it on and waits, so dbt cancels its query and the client exits with dbt's own
    # exit status, long before the query (minutes of counting) would have finished.
    import signal

    dbt_models = Path(__file__).resolve().parents[2] / "dbt_models"
    proc = subprocess.Popen(
        [*CLIENT, "show", "--inline", "select sum(i) from range(50000000000) t(i)",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=dbt_models, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, dbt_server.ENV_VAR: server.path,
             "DBT_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
             "DBT_DUCKDB_TEMP_DIR": str(tmp_path / "tmp")})
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # the query is running once dbt says it is
        seen.append(line)
        if "Concurrency:" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    text = "".join(seen) + out
    assert proc.returncode == 2, text
    assert "KeyboardInterrupt" in text or "CANCEL" in text, text


@pytest.mark.parametrize("served", [True, False], ids=["served", "client alone"])
def test_dbt_closes_the_database_before_its_process_ends(server, tmp_path, served):
    # The command's process ends without Python's shutdown (workers.exit_now): the database
    # dbt-duckdb keeps open must be closed first, which checkpoints it. Without that, the
    # table would live only in the write-ahead log beside the file.
    import duckdb

    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text(
        "name: closing\nversion: '1.0'\nprofile: closing\nmodel-paths: [models]\n")
    (tmp_path / "profiles.yml").write_text(
        "closing:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'w.duckdb'}\n      threads: 1\n")
    (tmp_path / "models" / "answer.sql").write_text(
        "{{ config(materialized='table') }}\nselect 42 as x\n")
    path = server.path if served else str(tmp_path / "no-server.sock")
    done = _run(CLIENT, path, "run", "--profiles-dir", str(tmp_path), cwd=tmp_path,
                env={"DBT_TARGET_PATH": str(tmp_path / "target")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "w.duckdb").exists()
    assert not (tmp_path / "w.duckdb.wal").exists()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select x from main.answer").fetchall() == [(42,)]
    # A served command records the macros it compiled, for the next server's warm-up
    # (dbt_cli.warm_caches): the materialization and the statements it ran, at least.
    used = tmp_path / "target" / "warm_macros.json"
    assert used.exists() == served
    if served:
        assert len(json.loads(used.read_text())) >= 10



def _niceness(pid: int, tid: int) -> int:
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def test_dbt_is_imported_at_a_lower_priority_and_commands_run_at_the_builds():
    """The server imports dbt on a thread of its own at niceness WARM_NICENESS (taking only
    the CPU the build leaves), while its main thread, from which every command forks (a
    child has its parent thread's priority), keeps the build's; a command is served."""
    import time

    with dbt_server.running() as running:
        assert running is not None
        pid = running._proc.pid
        # The importing thread, once it has lowered its own priority (its first step: a
        # poll may see it just before), while the main thread keeps the caller's.
        lowered = main = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and lowered is None:
            for task in Path(f"/proc/{pid}/task").iterdir():
                try:
                    nice = _niceness(pid, int(task.name))
                except (OSError, IndexError):
                    continue
                if int(task.name) == pid:
                    main = nice
                elif nice == dbt_server.WARM_NICENESS:
                    lowered = int(task.name)
            time.sleep(0.01)
        assert lowered is not None and lowered != pid
        assert main == os.getpriority(os.PRIO_PROCESS, 0)
        listed = _run(SERVED, running.path, "--help")
        assert listed.returncode == 0 and "Commands:" in listed.stdout
        assert [t.name for t in Path(f"/proc/{pid}/task").iterdir()] == [str(pid)]
        assert _niceness(pid, pid) == os.getpriority(os.PRIO_PROCESS, 0)
