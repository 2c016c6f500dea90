"""Great Expectations in a worker process that imports it while the build does other work.

Importing GX and making its context costs ~3 s of one core (scipy, sqlalchemy, altair and
GX's own ~300 modules), and the first check of a build used to wait for it. A background
*thread* cannot do that import safely (see ``gx_runner``: a module imported by two threads
at once was seen half-initialised), but a separate *process* can: ``product-metrics
build`` starts this worker before Dagster starts, so the import runs on the second core
while the build starts, ingests and runs dbt; by the first check it is done.

The worker owns the GX context: it validates the frames the checks send it and stores the
results for the Data Docs, and it renders the Data Docs pages: on request, or, for a
build's checks, when no request waits (a check gets its pages' paths at once, and the
build does not wait for GX to write them; :func:`finish` waits for the last and names the
pages that could not be written, for the build summary). The build
process never imports GX. Everything else (reading the warehouse, what to validate, how
the outcomes become Dagster check results) stays in the build process.

The process and its pipe are ``dagster_project.workers``'s. A worker that cannot start or
dies is not an error: the build process runs GX itself from then on (``gx_runner`` falls
back), exactly as it would without a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster_project.workers import PipeWorker, WorkerGone, WorkerSlot, exit_now, serve

__all__ = ["WorkerGone", "current", "finish", "forget", "running"]

_SLOT = WorkerSlot("dagster_project.quality.gx_worker", "Great Expectations")
current = _SLOT.current
forget = _SLOT.forget
running = _SLOT.running


def finish(worker: PipeWorker | None) -> list[str]:
    """Wait until ``worker`` (``running``'s) has written every Data Docs page it was left
    to write; a line for each rendering that failed (for the build summary)."""
    if worker is None or not worker.sent:
        return []
    if not worker.alive:
        return [("Data Docs: the Great Expectations worker stopped during the build; pages "
                 "of checks it had validated may be missing")]
    try:
        return [f"Data Docs: {line}" for line in worker.call("flush") or []]
    except WorkerGone:
        return [("Data Docs: the Great Expectations worker stopped before writing its "
                 "pages; some may be missing")]


# ---------------------------------------------------------------------------------------
# The worker's side


def main() -> None:
    from dagster_project.quality import gx_runner
    from dagster_project.quality.data_docs import DataDocs

    gx_runner.gx_context()  # the import and the context, before the first request
    docs: dict[str, DataDocs] = {}

    def site(folder: str) -> DataDocs:
        return docs.setdefault(folder, DataDocs(Path(folder)))

    def handle(operation: str, args: tuple[Any, ...]) -> Any:
        if operation == "validate":
            df, name, expectations, parameters, folder, run, label = args
            target = gx_runner.DocsTarget(site(folder), run) if folder is not None else None
            return gx_runner.run_gx_here(df, name, expectations, parameters, target, label)
        if operation == "publish":
            folder, later = args
            if later:  # rendered when no request waits (idle), or at the end of input
                site(folder).release()
                return site(folder).take_pages()
            return site(folder).publish(gx_runner.gx_context()[0])
        raise ValueError(f"unknown operation {operation!r}")

    failures: list[str] = []

    def idle() -> bool:
        """Render one site's released pages; False when none wait. A rendering that fails
        is not tried again; the build hears of it at the flush (``finish``)."""
        for folder in docs.values():
            if folder.waiting:
                try:
                    return folder.render(gx_runner.gx_context()[0], released_only=True)
                except Exception as exc:  # noqa: BLE001 - reported by the flush
                    n = folder.give_up()
                    failures.append(f"{n} page(s) in {folder.folder} not written: "
                                    f"{type(exc).__name__}: {exc}")
                    return True
        return False

    def flushed() -> list[str]:
        out = list(failures)
        failures.clear()
        return out

    serve(handle, idle, flushed)


if __name__ == "__main__":
    main()
    exit_now()  # its input ended: nothing to save, no one to wait for Python's shutdown
