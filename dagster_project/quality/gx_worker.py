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
build does not wait for GX to write them; ``running`` waits for the last at its end). The build
process never imports GX. Everything else (reading the warehouse, what to validate, how
the outcomes become Dagster check results) stays in the build process.

The process and its pipe are ``dagster_project.workers``'s. A worker that cannot start or
dies is not an error: the build process runs GX itself from then on (``gx_runner`` falls
back), exactly as it would without a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster_project.workers import WorkerGone, WorkerSlot, exit_now, serve

__all__ = ["WorkerGone", "current", "forget", "running"]

_SLOT = WorkerSlot("dagster_project.quality.gx_worker", "Great Expectations")
current = _SLOT.current
forget = _SLOT.forget
running = _SLOT.running


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

    def idle() -> bool:
        """Render one site's released pages; False when none wait."""
        for folder in docs.values():
            if folder.waiting:
                return folder.render(gx_runner.gx_context()[0], released_only=True)
        return False

    serve(handle, idle)


if __name__ == "__main__":
    main()
    exit_now()  # its input ended: nothing to save, no one to wait for Python's shutdown
