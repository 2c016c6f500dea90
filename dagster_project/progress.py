"""What a person watching `product-metrics build` sees while it runs: the stage, the step,
assets done of the total, checks run, rows ingested and the slowest step so far.

On a terminal it is one line, rewritten in place (at most a few times a second); in a log
or CI (no terminal) it is a plain line when each step starts and ends. It listens to the
run's Dagster events (``DagsterInstance.add_event_listener``) on the thread that runs the
steps, so it needs no thread of its own.
"""

from __future__ import annotations

import time
from typing import IO, Any

# Step key prefix -> the stage a person knows it by.
_STAGES = (
    ("raw__", "ingest"),
    ("dbt_models", "dbt"),
    ("serving__published_marts", "publish"),
    ("serving__kpi_report", "report"),
)


def stage_of(step_key: str) -> str:
    for prefix, stage in _STAGES:
        if step_key.startswith(prefix):
            return stage
    return "checks"


class BuildProgress:
    """Event listener that keeps and shows the build's progress on ``stream``."""

    def __init__(self, stream: IO[str], total_assets: int, *, tty: bool | None = None,
                 min_interval: float = 0.2) -> None:
        self.stream = stream
        self.total_assets = total_assets
        self.tty = stream.isatty() if tty is None else tty
        self.min_interval = min_interval
        self.started = time.monotonic()
        self.step: str = ""
        self.step_started = self.started
        self.steps_done = 0
        self.assets_done: set[str] = set()
        self.checks = 0
        self.rows_ingested = 0
        self.slowest: tuple[str, float] | None = None
        self._last_draw = 0.0
        self._width = 0

    # -- the listener ------------------------------------------------------------------
    def __call__(self, entry: Any) -> None:
        event = getattr(entry, "dagster_event", None)
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self.step, self.step_started = step, time.monotonic()
            self._show(f"started {step}", force=True)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = time.monotonic() - self.step_started
            self.steps_done += 1
            if self.slowest is None or seconds > self.slowest[1]:
                self.slowest = (step, seconds)
            verb = "done" if kind == "STEP_SUCCESS" else "FAILED"
            self._show(f"{verb} {step} in {seconds:.1f} s", force=True)
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            self.assets_done.add(key)
            if key.startswith("raw/"):
                # The rows this run read and classified (new files, and the earlier rows
                # sharing a key with them), not the source's total.
                rows = materialization.metadata.get("derived_rows")
                self.rows_ingested += int(getattr(rows, "value", rows) or 0)
            self._show("")
        elif kind == "ASSET_CHECK_EVALUATION":
            self.checks += 1
            self._show("")

    # -- drawing -----------------------------------------------------------------------
    def line(self, note: str = "") -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"[{elapsed:5.0f} s] {stage_of(self.step) if self.step else 'starting'}",
                 f"assets {len(self.assets_done)}/{self.total_assets}",
                 f"checks {self.checks}",
                 f"rows ingested {self.rows_ingested:,}"]
        if self.slowest:
            parts.append(f"slowest {self.slowest[0]} {self.slowest[1]:.1f} s")
        if note:
            parts.append(note)
        return " | ".join(parts)

    def _show(self, note: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            if not force and now - self._last_draw < self.min_interval:
                return
            text = self.line(f"running {self.step}" if not note and self.step else note)
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        elif force:
            self.stream.write(self.line(note) + "\n")
        else:
            return
        self._last_draw = now
        self.stream.flush()

    def finish(self) -> None:
        """End the updating line (the summary follows on its own lines)."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
