"""The report's static SVGs drawn by vl-convert in a worker process, on the second core.

vl-convert holds the GIL while it draws (~50 ms a chart, ~2 s for a demo report) and its
JavaScript engine takes ~0.6 s to start, so neither can overlap the build's own work on a
thread. ``product-metrics build`` and ``product-metrics report`` start this worker first
(:func:`running`): the engine starts while the build ingests and runs dbt, and each chart
is sent to it the moment Altair has built its spec (``charts.Figure``), so the drawing
runs beside the building of the next charts. The page collects the SVGs when it is
written. Without a worker (tests, a run from the Dagster UI or the daemon, a worker that
died) the charts are drawn in this process, to the same SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagster_project.workers import WorkerGone, WorkerSlot, exit_now, serve

_SLOT = WorkerSlot("dagster_project.reports.svg_worker", "chart drawing")
current = _SLOT.current
forget = _SLOT.forget
running = _SLOT.running

# A spec the worker draws first, so the engine is up before the first chart arrives.
_WARM_UP = '{"mark":"point","data":{"values":[{"a":1}]},"encoding":{"x":{"field":"a"}}}'


def ahead(spec_json: str, vl_version: str) -> Callable[[], str | None] | None:
    """Send a spec (JSON) to the worker, if one runs; a function that waits for its SVG
    (None when the worker died meanwhile: then draw it here)."""
    worker = _SLOT.current()
    if worker is None:
        return None
    try:
        ticket = worker.submit("svg", spec_json, vl_version)
    except WorkerGone:
        _SLOT.forget()
        return None

    def svg() -> str | None:
        try:
            return worker.result(ticket)
        except WorkerGone:
            _SLOT.forget()
            return None

    return svg


def main() -> None:
    import os

    # Its engine starts while the build starts and ingests, and it draws only at the end:
    # at a lower priority it takes only the CPU the build leaves.
    os.nice(10)
    import vl_convert

    from dagster_project.reports.charts import VL_VERSION

    vl_convert.vegalite_to_svg(_WARM_UP, vl_version=VL_VERSION)

    def handle(operation: str, args: tuple[Any, ...]) -> Any:
        if operation == "svg":
            spec_json, vl_version = args
            return vl_convert.vegalite_to_svg(spec_json, vl_version=vl_version)
        raise ValueError(f"unknown operation {operation!r}")

    serve(handle)


if __name__ == "__main__":
    main()
    exit_now()  # its input ended: nothing to save, no one to wait for Python's shutdown
