"""The KPI report drawn while the marts' checks and the publish run.

The report is the build's last step: it reads the published marts, once every check passed.
Its charts (~1-2.5 s: the marts' reads, Altair's specs, vl-convert's drawing in the chart
worker) need nothing of the publish but the marts themselves, which the publish copies as
they are. So in ``product-metrics build``, as soon as every mart the publish reads has been
materialised in the run (the dbt process has ended, the warehouse is open again in this
process), a thread draws the report from the working warehouse (:func:`draw_report`) while
the checks of the marts and the publish run; the report step then only makes the page
(:func:`finish_report`) with what the publish wrote (``ops.build_info``).

The draft is used only when it was drawn for what was published (its as-of date, the
reporting currency, the parameters and the semantic layer: ``Draft.fits``); otherwise, or
when the drawing failed, the report step draws from the serving database as before. A build
whose blocking check fails publishes nothing and writes no report: the draft is dropped.
Outside ``product-metrics build`` (the Dagster UI, the daemon) nothing is drawn ahead.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg

from dagster_project.resources import held_cursor
from dagster_project.settings import DBT_BUILD_TARGET, Settings, metric_vars

if TYPE_CHECKING:
    from dagster_project.reports.kpi_report import Draft

_CURRENT: ReportAhead | None = None
SWITCH_INTERVAL = 0.0005


class ReportAhead:
    """A run's event listener (``DagsterInstance.add_event_listener``, called on the thread
    that runs the steps) that starts drawing the report once every asset of ``needed`` was
    materialised and a step has ended since (between two steps: the warehouse's held
    connection is this process's, no step uses it)."""

    def __init__(self, settings: Settings, needed: Iterable[dg.AssetKey]) -> None:
        self.settings = settings
        self.waiting = set(needed)
        # Nothing to wait for would draw whatever the warehouse holds (the last build's
        # marts): never start then.
        self.started = not self.waiting
        self.error: str | None = None
        self._draft: Draft | None = None
        self._thread: threading.Thread | None = None
        self._interval = sys.getswitchinterval()  # restored when the drawing ends

    def __call__(self, entry: Any) -> None:
        event = getattr(entry, "dagster_event", None)
        if event is None or self.started:
            return
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            self.waiting.discard(event.event_specific_data.materialization.asset_key)
        elif kind == "STEP_SUCCESS" and not self.waiting:
            self.start()

    def start(self) -> None:
        self.started = True
        con = held_cursor(self.settings.warehouse_path)
        if con is None:  # the warehouse is not open in this process: draw at the end
            self.error = "the warehouse was not open"
            return
        self._interval = sys.getswitchinterval()  # as it is now
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._draw, args=(con,),
                                        name="report-ahead", daemon=True)
        self._thread.start()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            sys.setswitchinterval(self._interval)

    def _draw(self, con: Any) -> None:
        from dagster_project.reports.kpi_report import draw_report
        from dagster_project.reports.report_data import load_metric_docs, load_rate_formulas

        try:
            con.execute("set TimeZone='UTC'")
            # As the publish reads it for ops.build_info.
            as_of = con.execute(
                "select max(as_of_date) from intermediate.int_as_of_date").fetchone()[0]
            info = {"as_of_date": str(as_of),
                    "reporting_currency": self.settings.reporting_currency}
            # The semantic manifest the publish copies beside the served data.
            manifest = DBT_BUILD_TARGET / "semantic_manifest.json"
            self._draft = draw_report(
                con, info, currency=self.settings.reporting_currency,
                params=metric_vars(self.settings), metrics=load_metric_docs(manifest),
                rates=load_rate_formulas(manifest))
        except Exception as exc:  # noqa: BLE001 - the report step draws it again, and says why
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(Exception):
                con.close()

    def take(self) -> Draft | None:
        """The draft, once drawn (None when none was started or it failed)."""
        self._join()
        return self._draft

    def close(self) -> None:
        """Wait for the drawing (it reads the warehouse, which the build closes next)."""
        self._join()
        self._draft = None


@contextlib.contextmanager
def drawing(settings: Settings, needed: Iterable[dg.AssetKey]) -> Iterator[ReportAhead]:
    """Within the block (a build's run), the listener that draws the report ahead; the
    report step finds its draft with :func:`take`."""
    global _CURRENT
    ahead = ReportAhead(settings, needed)
    _CURRENT = ahead
    try:
        yield ahead
    finally:
        _CURRENT = None
        ahead.close()


def current() -> ReportAhead | None:
    return _CURRENT
