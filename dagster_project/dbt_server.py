"""A warm dbt for the build: ``product-metrics-dbt`` runs as a fork of a process that has
already imported dbt.

Importing dbt costs ~3 s of one core (mashumaro builds dbt's serialisers at import), and
every dbt process pays it before its first line: in a build, on the critical path between
ingestion and the first model. ``product-metrics build`` starts this server first
(:func:`running`); it imports dbt on the second core while the build starts, ingests and
checks the raw tables. When dagster-dbt then launches ``product-metrics-dbt``, that client
(``dbt_cli.main``, which imports nothing of dbt before it knows) passes its arguments,
environment and working directory, and its standard streams themselves (the file
descriptors, over a Unix socket), to the server. The server forks; the child becomes that
dbt command (its output goes straight into dagster-dbt's pipe, as a dbt process's does) and
the server sends the client the child's exit status once it has exited, after dbt closed
the warehouse. The client exits with it, so for dagster-dbt nothing changed but the time.

- A client's SIGINT or SIGTERM (dagster-dbt stops dbt with SIGINT) goes to the child; a
  client that dies takes the child with it (SIGINT, as an interrupted dbt).
- Without a server (``METRICS_DBT_SERVER`` unset: tests, the Dagster UI and daemon, a bare
  call), or when the server cannot take the command before dbt starts, the client runs dbt
  itself, as before. A server that dies while a command runs fails that command, with a
  message.
- Linux only: a fork that does not exec is not safe on macOS once system frameworks are
  loaded, and the server forks only while it runs no thread of its own.

Protocol, over one connection per command: the client sends an 8-byte length with its
descriptors 0, 1, 2 (SCM_RIGHTS), then that many bytes of JSON (``argv``, ``env``, ``cwd``);
the server answers ``PID <n>`` when the child runs and ``EXIT <code>`` when it has exited
(a signal ``s`` gives 128 + s, as shells report it).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from dagster_project.workers import STOP_TIMEOUT, exit_now

ENV_VAR = "METRICS_DBT_SERVER"
# The partial parse the server warms dbt's caches from (dbt_cli.warm_caches): the one the
# build's dbt step will read.
WARM_FROM_VAR = "METRICS_DBT_WARM_FROM"
# The niceness of the thread that imports dbt and warms its caches. On 2 cores the build's
# start-up and ingestion, Great Expectations' import in its worker and this import would
# share them three ways; at a lower priority the import takes what the others leave and is
# still done before the dbt step (a small build ~12.7 -> ~11.7 s, A/B alternations, at
# niceness 10). At 10 its warming of dbt's caches was cut short in a small build: the
# import ended ~4.3 s into the build, the dbt command came ~0.5 s later, before the macros
# and the nodes' SQL were compiled; at 5, ten alternations: ~10.2 -> ~9.9 s.
# The dbt commands, forked from the main thread, run at the build's priority.
WARM_NICENESS = 5
_HEADER = 8
_POLL_SECONDS = 0.2


def available() -> bool:
    """Whether this platform runs the server (fork without exec: Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


# ---------------------------------------------------------------------------- the client


class NotTaken(Exception):
    """The server did not start the command: run it here."""


def run_via_server(path: str, argv: list[str]) -> int:
    """Run ``argv`` (a ``product-metrics-dbt`` command line) in the server at ``path``;
    its exit code. Raises :class:`NotTaken` when the server did not start it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
            payload = json.dumps(
                {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
            ).encode("utf-8")
            socket.send_fds(sock, [len(payload).to_bytes(_HEADER, "little")], [0, 1, 2])
            sock.sendall(payload)
        except OSError as exc:
            raise NotTaken(str(exc)) from None
        replies = sock.makefile("rb")
        first = replies.readline()
        if not first.startswith(b"PID "):
            raise NotTaken(first.decode("utf-8", "replace").strip() or "no answer")
        pid = int(first.split()[1])

        def forward(signum: int, _frame: object) -> None:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        last = replies.readline()
        if last.startswith(b"EXIT "):
            return int(last.split()[1])
        forward(signal.SIGINT, None)  # no one would wait for it: stop it as interrupted
        print(f"product-metrics-dbt: the dbt server stopped while dbt (pid {pid}) ran",
              file=sys.stderr)
        return 1
    finally:
        sock.close()


# ---------------------------------------------------------------------------- the server


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    header, fds, _flags, _addr = socket.recv_fds(conn, _HEADER, 3)
    if len(header) != _HEADER or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise OSError("a malformed request")
    size = int.from_bytes(header, "little")
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            for fd in fds:
                os.close(fd)
            raise OSError("the client went away")
        data += chunk
    return json.loads(data), fds


def _child(request: dict[str, object], fds: list[int], closing: list[socket.socket]) -> None:
    """In the forked child: become the client's dbt command (never returns)."""
    from dagster_project.dbt_cli import close_dbt_duckdb, record_used_macros, run_dbt

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for s in closing:
            s.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        sys.argv = [str(a) for a in request["argv"]]  # type: ignore[union-attr]
        code = run_dbt()
        if os.environ.get("DBT_TARGET_PATH"):  # for the next server's warm-up
            record_used_macros(Path(os.environ["DBT_TARGET_PATH"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - reported on the client's stderr
        print(f"product-metrics-dbt: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    finally:
        # dbt closed its connections; the database closes (and checkpoints) with dbt-duckdb's
        # environment, as at the end of a dbt process of its own. The rest of Python's
        # shutdown (~0.35 s with dbt loaded) would only delay the build, which waits for
        # this exit: exit_now flushes dbt's log and the streams and ends here.
        close_dbt_duckdb()
    exit_now(code)


def _serve_one(conn: socket.socket, listener: socket.socket) -> None:
    try:
        request, fds = _receive(conn)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            conn.sendall(f"REFUSED {exc}\n".encode())
        return
    if threading.active_count() != 1:  # never fork with a second thread running
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            conn.sendall(b"REFUSED the server runs a thread\n")
        return
    pid = os.fork()
    if pid == 0:
        _child(request, fds, [conn, listener])
    for fd in fds:
        os.close(fd)
    with contextlib.suppress(OSError):
        conn.sendall(f"PID {pid}\n".encode())
    # Woken when the child exits (a pidfd) or the client's end changes; polled without one.
    exited: list[int] = []
    with contextlib.suppress(AttributeError, OSError):
        exited.append(os.pidfd_open(pid))
    watched = [conn]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        readable, _, _ = select.select([*watched, *exited], [], [], _POLL_SECONDS)
        if conn in readable:
            try:
                gone = conn.recv(1) == b""
            except OSError:
                gone = True
            if gone:  # the client died: stop its dbt as an interrupted one
                watched = []
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGINT)
    for fd in exited:
        os.close(fd)
    with contextlib.suppress(OSError):
        conn.sendall(f"EXIT {_exit_code(status)}\n".encode())


def serve(listener_fd: int) -> None:
    """Import dbt (on a thread of lower priority: ``WARM_NICENESS``), then run each command
    that arrives on the listening socket ``listener_fd`` in a child, one at a time, until
    stdin closes."""
    listener = socket.socket(fileno=listener_fd)
    stdin = sys.stdin.fileno()

    failed: list[BaseException] = []

    def warm() -> None:
        # This thread only, at a lower priority: a command forks from the main thread,
        # whose priority is the build's.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WARM_NICENESS)
        try:
            from dagster_project.dbt_cli import warm_caches, warm_up

            warm_up()
            warm_from = os.environ.get(WARM_FROM_VAR)
            warm_caches(Path(warm_from) if warm_from else None,
                        pending=lambda: bool(select.select([listener, stdin], [], [], 0)[0]))
        except BaseException as exc:  # noqa: BLE001 - raised below, on the main thread
            failed.append(exc)

    # Joined before the first fork: the server forks only while it runs no other thread.
    warming = threading.Thread(target=warm, name="dbt import")
    warming.start()
    warming.join()
    if failed:  # e.g. a dbt-duckdb the patches do not know: no server, the client runs dbt
        raise failed[0]
    while True:
        readable, _, _ = select.select([listener, stdin], [], [])
        if stdin in readable and not os.read(stdin, 1024):
            return  # the build ended
        if listener in readable:
            conn, _ = listener.accept()
            with conn:
                _serve_one(conn, listener)


class Server:
    """The server process of one build (:func:`running`)."""

    def __init__(self, warm_from: Path | None = None) -> None:
        import subprocess

        self._dir = tempfile.mkdtemp(prefix="pm-dbt-")
        self.path = str(Path(self._dir) / "dbt.sock")
        # Bound and listening before the server starts: a client that comes early waits in
        # the backlog until the server has imported dbt, and never finds no socket.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.path)
            listener.listen(8)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "dagster_project.dbt_server", str(listener.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONWARNINGS": "ignore",
                     **({WARM_FROM_VAR: str(warm_from)} if warm_from else {})},
                pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()

    def stop(self) -> None:
        import shutil
        import subprocess

        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:  # one still importing dbt (a build that ended early) reads stdin only after
            self._proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def running(warm_from: Path | None = None) -> Iterator[Server | None]:
    """A dbt server for the commands this process launches while inside (their
    ``product-metrics-dbt`` finds it through ``METRICS_DBT_SERVER``); nothing where the
    platform has none (:func:`available`) or it is turned off (``METRICS_DBT_SERVER=off``).
    Once it has imported dbt, and until a command comes, it warms dbt's caches from the
    partial parse ``warm_from`` (:func:`dagster_project.dbt_cli.warm_caches`)."""
    if not available() or os.environ.get(ENV_VAR) == "off":
        yield None
        return
    server = Server(warm_from)
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = server.path
    try:
        yield server
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before
        server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
    exit_now()  # the build ended: nothing to save, no one to wait for Python's shutdown
