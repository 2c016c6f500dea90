"""Worker processes that keep a slow library warm for a build, and the pipe they talk over.

Some libraries cost seconds of one core before their first answer (Great Expectations'
import, ~3 s; vl-convert's JavaScript engine, ~0.6 s) and cannot be warmed on a thread of
the build process: a module imported by two threads at once was seen half-initialised
(``quality.gx_runner``), and vl-convert holds the GIL while it draws. A separate *process*
can: ``product-metrics build`` starts the workers first, they warm up on the second core
while the build starts, ingests and runs dbt, and the build sends them work later.

Protocol: on the worker's stdin, each request an 8-byte length and a pickled
``(operation, arguments)``; on its stdout, for each request in order, an 8-byte length and
a pickled ``("ok", value)`` or ``("error", exception)`` (the worker's own prints go to
stderr). A worker may have work of its own to do when no request waits (``serve``'s
``idle``: the GX worker renders Data Docs pages then); the request ``flush`` waits until
that is done. Requests may be sent ahead
(:meth:`PipeWorker.submit`): a thread of the calling process reads the replies as bytes, so
neither pipe fills up, and each reply is unpickled by the thread that asks for it (the
reading thread imports nothing). A worker that cannot start or dies is not an error: the
caller does the work itself from then on (:class:`WorkerGone`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NoReturn

# Seconds to wait for a stopping worker before it is killed. Workers hold nothing unsaved,
# and one still warming up (a build that ended early) reads its end of input only after.
STOP_TIMEOUT = 1.0


def exit_now(code: int = 0) -> NoReturn:
    """End this process at once, with ``code``, once its output and logs are flushed.

    For a process whose work is done and saved (a worker whose input ended, a build whose
    report is printed): Python's own shutdown, which tears down every module Dagster, dbt or
    Great Expectations imported, takes ~0.3-1 s, and someone waits for it (the build for its
    workers, the user for the command). Open files and DuckDB databases must already be
    closed: nothing is left to tear down but memory."""
    import logging

    with contextlib.suppress(Exception):
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


class WorkerGone(RuntimeError):
    """The worker process exited or its pipe broke."""


class PipeWorker:
    """One worker process running ``python -m <module>`` (whose main calls :func:`serve`)."""

    def __init__(self, module: str, what: str) -> None:
        self.what = what
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        self._send = threading.Lock()
        self._replied = threading.Condition()
        self._replies: dict[int, bytes] = {}
        self._sent = 0
        self._gone: str | None = None
        # Requests wait here for the thread that writes them: a worker reads its next
        # request only when it has answered the last, and a caller sending ahead must not
        # stop at a full pipe (the report's charts: ~0.25 s of a build).
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name=f"{what} worker replies", daemon=True).start()
        self._writer = threading.Thread(target=self._write, name=f"{what} worker requests",
                                        daemon=True)
        self._writer.start()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None and self._gone is None

    @property
    def sent(self) -> int:
        """How many requests were sent to it."""
        return self._sent

    def submit(self, operation: str, *args: Any) -> int:
        """Send a request without waiting; the ticket to :meth:`result`. Raises
        :class:`WorkerGone` when the worker is known to be gone (one that goes later
        raises it at :meth:`result`)."""
        data = pickle.dumps((operation, args), protocol=pickle.HIGHEST_PROTOCOL)
        with self._send:
            if self._gone is not None:
                raise WorkerGone(self._gone)
            self._outbox.put(len(data).to_bytes(8, "little") + data)
            self._sent += 1
            return self._sent - 1

    def result(self, ticket: int) -> Any:
        """The answer to request ``ticket`` (waiting for it); the worker's exception is raised
        here. Raises :class:`WorkerGone` when the worker died before answering."""
        with self._replied:
            while ticket not in self._replies and self._gone is None:
                self._replied.wait()
            data = self._replies.pop(ticket, None)
        if data is None:
            self._kill()
            raise WorkerGone(self._gone)
        status, value = pickle.loads(data)
        if status == "error":
            raise value
        return value

    def call(self, operation: str, *args: Any) -> Any:
        """Run ``operation`` in the worker and wait for its answer."""
        return self.result(self.submit(operation, *args))

    def stop(self) -> None:
        with self._send:
            if self._proc.poll() is None:
                self._outbox.put(None)  # after the requests sent: EOF, and the worker returns
                try:
                    self._proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._kill()
            else:
                self._outbox.put(None)
            self._writer.join(timeout=STOP_TIMEOUT)

    def _write(self) -> None:
        """Write the requests in order (runs on its own thread), then close the input."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (data := self._outbox.get()) is not None:
                stdin.write(data)
                stdin.flush()
        except (OSError, ValueError) as exc:
            self._lost(exc)
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def _read(self) -> None:
        """The replies as bytes, in order (runs on its own thread; imports nothing)."""
        stdout = self._proc.stdout
        assert stdout is not None
        ticket = 0
        try:
            while True:
                head = stdout.read(8)
                size = int.from_bytes(head, "little") if len(head) == 8 else -1
                data = stdout.read(size) if size >= 0 else b""
                if size < 0 or len(data) != size:
                    raise EOFError("end of its output")
                with self._replied:
                    self._replies[ticket] = data
                    self._replied.notify_all()
                ticket += 1
        except (OSError, ValueError, EOFError) as exc:
            self._lost(exc)
        finally:
            with contextlib.suppress(OSError):
                stdout.close()

    def _lost(self, exc: BaseException) -> None:
        with self._replied:
            if self._gone is None:
                self._gone = f"the {self.what} worker stopped: {exc}"
            self._replied.notify_all()

    def _kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self._proc.wait(timeout=STOP_TIMEOUT)


class WorkerSlot:
    """The one worker of a kind in this process: started by :meth:`running` (or
    :meth:`start`), used through :meth:`current`, dropped by :meth:`forget` when it broke."""

    def __init__(self, module: str, what: str) -> None:
        self.module, self.what = module, what
        self._worker: PipeWorker | None = None

    def current(self) -> PipeWorker | None:
        """The running worker, if any."""
        worker = self._worker
        return worker if worker is not None and worker.alive else None

    def start(self) -> PipeWorker | None:
        """Start the worker unless one runs; None when it cannot start."""
        if self._worker is None:
            try:
                self._worker = PipeWorker(self.module, self.what)
            except OSError:
                self._worker = None
        return self._worker

    def forget(self) -> None:
        """Stop using the worker (it died or broke): the caller does the work from now on."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[PipeWorker | None]:
        """A worker for the duration of the block (None when it cannot start)."""
        if self._worker is not None:  # nested: the outer block owns it
            yield self._worker
            return
        worker = self.start()
        try:
            yield worker
        finally:
            try:
                # What the worker does when idle (Data Docs pages) is done before it stops.
                if worker is not None and worker.alive and worker.sent:
                    with contextlib.suppress(WorkerGone):
                        worker.call("flush")
            finally:
                self.forget()


# ---------------------------------------------------------------------------------------
# The worker's side


def _read_frame(stream: BinaryIO) -> bytes | None:
    """One length-prefixed frame from ``stream``; None at the end of input."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "little")
    data = stream.read(size)
    return data if len(data) == size else None


def serve(handle: Callable[[str, tuple[Any, ...]], Any],
          idle: Callable[[], bool] | None = None,
          flushed: Callable[[], Any] | None = None) -> None:
    """Answer requests with ``handle(operation, args)`` until the input ends. Exceptions go
    back to the caller; those of a library's own classes as a RuntimeError with their name
    and message (the caller would have to import the library to unpickle them, and some
    cannot be rebuilt from their pickle).

    ``idle``, when given, is the worker's own work, done a piece at a time whenever no
    request waits: it returns False when there is nothing left. A request that comes
    meanwhile waits for the piece under way only. The request ``flush`` is answered once
    nothing is left (with ``flushed()``, when given: what the caller should know of that
    work), and so is the end of input: the worker returns with its work done."""
    # The protocol owns the original stdout; anything the libraries print goes to stderr.
    replies: BinaryIO = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    if idle is not None:
        # Requests are read as bytes on a thread (which imports nothing), so that this
        # thread can tell whether one waits; they are unpickled here.
        def read() -> None:
            frame: bytes | None = b""
            try:
                while frame is not None:
                    frame = _read_frame(requests)
                    frames.put(frame)
            except (OSError, ValueError):
                frames.put(None)  # a broken input ends it like its end

        threading.Thread(target=read, name="requests", daemon=True).start()

    def next_frame() -> bytes | None:
        if idle is None:
            return _read_frame(requests)
        while frames.empty() and idle():
            pass
        return frames.get()

    def finish() -> None:
        while idle is not None and idle():
            pass

    while True:
        frame = next_frame()
        if frame is None:
            finish()
            return
        try:
            operation, args = pickle.loads(frame)
            if operation == "ping":
                value: Any = "pong"
            elif operation == "flush":
                finish()
                value = flushed() if flushed is not None else None
            else:
                value = handle(operation, args)
            reply: tuple[str, Any] = ("ok", value)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
            if type(exc).__module__ != "builtins":
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            reply = ("error", exc)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not pickle
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")),
                                protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(len(data).to_bytes(8, "little") + data)
        replies.flush()
