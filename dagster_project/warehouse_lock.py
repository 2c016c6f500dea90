"""One writer at a time: a build holds an exclusive lock on ``<warehouse>.lock`` from its
first step to its last, so a second build on the same warehouse stops at once, naming
the holder, instead of queueing behind it and interleaving its steps with the first's.

The lock is the operating system's (``flock``): it dies with its process, so a build killed
with SIGKILL or a machine that lost power leaves no lock to clean up, and the next build
simply takes it. The file itself only tells the second build who holds it (pid, host,
start time, command).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster_project.errors import MetricsError


def lock_path(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def _describe(holder: dict[str, object]) -> str:
    if not holder:
        return "a process that has not written its name yet"
    return (f"pid {holder.get('pid')} on {holder.get('host')}, started "
            f"{holder.get('started')} UTC ({holder.get('command')})")


@contextlib.contextmanager
def hold_warehouse(warehouse_path: Path, command: str = "") -> Iterator[None]:
    """Hold the warehouse's lock for the ``with`` block; raise :class:`MetricsError` naming
    the holder when another process has it."""
    path = lock_path(Path(warehouse_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = json.loads(os.read(fd, 4096) or b"{}")
        except ValueError:
            holder = {}
        os.close(fd)
        raise MetricsError(
            f"another build is writing the working warehouse {warehouse_path}: "
            f"{_describe(holder)}. One writer at a time: this build changed nothing; wait for "
            f"that one to finish (or stop it) and run again. Lock file: {path}"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "command": command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
        }).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
