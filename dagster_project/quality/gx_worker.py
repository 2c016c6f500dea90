"""Great Expectations in a worker process that imports it while the build does other work.

Importing GX and making its context costs ~3 s of one core (scipy, sqlalchemy, altair and
GX's own ~300 modules), and the first check of a build used to wait for it. A background
*thread* cannot do that import safely (see ``gx_runner``: a module imported by two threads
at once was seen half-initialised), but a separate *process* can: ``product-metrics
build`` starts this worker before Dagster starts, so the import runs on the second core
while the build starts, ingests and runs dbt; by the first check it is done.

The worker owns the GX context: it validates the frames the checks send it and stores the
results for the Data Docs, and it renders the Data Docs pages on request. The build
process never imports GX. Everything else (reading the warehouse, what to validate, how
the outcomes become Dagster check results) stays in the build process.

Protocol: pickled ``(operation, arguments)`` requests on the worker's stdin, pickled
``("ok", value)`` or ``("error", exception)`` replies on its stdout (the worker's own
prints go to stderr). A worker that cannot start or dies is not an error: the build
process runs GX itself from then on (``gx_runner`` falls back), exactly as it would
without a worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Seconds to wait for a stopping worker before it is killed. It holds nothing unsaved (the
# Data Docs are written when published), and one still importing GX (a build that ended
# early) would only read its end of input once the import is done.
STOP_TIMEOUT = 1.0


class WorkerGone(RuntimeError):
    """The worker process exited or its pipe broke."""


class GxWorker:
    """One worker process; ``call`` is a blocking request (one at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_project.quality.gx_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def call(self, operation: str, *args: Any) -> Any:
        """Run ``operation`` in the worker; its exception is raised here. Raises
        :class:`WorkerGone` when the worker cannot answer."""
        with self._lock:
            try:
                assert self._proc.stdin is not None and self._proc.stdout is not None
                pickle.dump((operation, args), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._proc.stdin.flush()
                status, value = pickle.load(self._proc.stdout)
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                self._kill()
                raise WorkerGone(f"the Great Expectations worker stopped: {exc}") from None
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        with self._lock:
            if self.alive:
                try:
                    assert self._proc.stdin is not None
                    self._proc.stdin.close()  # EOF: the worker returns
                    self._proc.wait(timeout=STOP_TIMEOUT)
                except (OSError, subprocess.TimeoutExpired):
                    self._kill()
            for pipe in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()

    def _kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self._proc.wait(timeout=STOP_TIMEOUT)


_worker: GxWorker | None = None


def current() -> GxWorker | None:
    """The running worker of this process, if any."""
    return _worker if _worker is not None and _worker.alive else None


def forget() -> None:
    """Stop using the worker (it died or broke): GX runs in this process from now on."""
    global _worker
    if _worker is not None:
        _worker.stop()
    _worker = None


@contextlib.contextmanager
def running() -> Iterator[GxWorker | None]:
    """A worker for the duration of the block (None when it cannot start: GX then runs in
    this process)."""
    global _worker
    if _worker is not None:  # nested: the outer block owns it
        yield _worker
        return
    try:
        _worker = GxWorker()
    except OSError:
        _worker = None
    try:
        yield _worker
    finally:
        forget()


# ---------------------------------------------------------------------------------------
# The worker's side


def _serve(requests: Any, replies: Any) -> None:
    from dagster_project.quality import gx_runner
    from dagster_project.quality.data_docs import DataDocs

    gx_runner.gx_context()  # the import and the context, before the first request
    docs: dict[str, DataDocs] = {}

    def site(folder: str) -> DataDocs:
        return docs.setdefault(folder, DataDocs(Path(folder)))

    while True:
        try:
            operation, args = pickle.load(requests)
        except EOFError:
            return
        try:
            if operation == "validate":
                df, name, expectations, parameters, folder, run, label = args
                target = gx_runner.DocsTarget(site(folder), run) if folder is not None else None
                value: Any = gx_runner.run_gx_here(df, name, expectations, parameters,
                                                   target, label)
            elif operation == "publish":
                (folder,) = args
                value = site(folder).publish(gx_runner.gx_context()[0])
            elif operation == "ping":
                value = "pong"
            else:
                raise ValueError(f"unknown operation {operation!r}")
            reply: tuple[str, Any] = ("ok", value)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
            if type(exc).__module__ != "builtins":
                # GX's own exceptions would make the caller import GX to unpickle them (and
                # some cannot be rebuilt from their pickle): their name and message suffice
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            reply = ("error", exc)
        try:
            pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not pickle
            pickle.dump(("error", RuntimeError(f"{type(exc).__name__}: {exc}")), replies,
                        protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


def main() -> None:
    # The protocol owns the original stdout; anything the libraries print goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    _serve(requests, replies)


if __name__ == "__main__":
    main()
