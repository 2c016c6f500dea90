"""The worker processes (dagster_project.workers) and the one that draws the report's charts
(reports.svg_worker): requests sent ahead come back in order whatever their size, an error
reaches the caller and the worker goes on, and the report drawn with a worker, or with one
that died half-way, is the report drawn without."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dagster_project.reports import charts, svg_worker
from dagster_project.workers import WorkerGone
from tests.unit.test_kpi_report import _report, _serving

NPS_EXTRA = (
    "create table marts.nps_monthly as select * from (values "
    "(date '2024-01-01', 10, 5, 2, 30.0), (date '2024-02-01', 20, 8, 4, 20.0)) "
    "t(month, responses, promoters, detractors, nps)"
)


def _spec(n: int, colour: str = "#1f5fa8") -> str:
    """A bar chart of n rows as JSON (n = 800: ~13 kB; its SVG ~300 kB, more than a pipe holds)."""
    rows = ",".join(f'{{"x":{i},"y":{i % 7}}}' for i in range(n))
    return ('{"mark":{"type":"bar","color":"' + colour + '"},"data":{"values":[' + rows + ']},'
            '"encoding":{"x":{"field":"x","type":"ordinal"},"y":{"field":"y","type":"quantitative"}}}')


def _same(html: str) -> str:
    """vl-convert numbers SVG gradients and clip paths per process, and names the views of
    charts with a brush at random: the only differences between two draws."""
    html = re.sub(r"gradient_\d+", "gradient_N", html)
    return re.sub(r"view_[0-9a-f]+_", "view_N_", re.sub(r"clip\d+", "clipN", html))


def test_large_requests_sent_ahead_come_back_in_order() -> None:
    """Six ~13 kB specs sent before any answer is read (78 kB: more than a pipe holds; the
    ~300 kB replies would fill the other pipe if nothing drained it): each answer is its
    own spec's drawing."""
    with svg_worker.running() as worker:
        assert worker is not None
        colours = ["#000001", "#000002", "#000003", "#000004", "#000005", "#000006"]
        tickets = [worker.submit("svg", _spec(800, c), charts.VL_VERSION) for c in colours]
        for ticket, colour in reversed(list(zip(tickets, colours, strict=True))):
            svg = worker.result(ticket)
            assert svg.startswith("<svg") and svg.count('fill="' + colour) == 800
        assert worker.call("ping") == "pong"


def test_a_worker_that_reads_nothing_does_not_stop_the_sender() -> None:
    """Requests wait in the sending process for a thread that writes them: a caller sending
    more than a pipe holds to a worker that reads nothing yet (here: stopped) goes on at
    once, and the answers come once the worker runs."""
    import signal
    import threading

    with svg_worker.running() as worker:
        assert worker is not None and worker.call("ping") == "pong"
        os.kill(worker._proc.pid, signal.SIGSTOP)
        try:
            tickets: list[int] = []
            sender = threading.Thread(target=lambda: tickets.extend(
                worker.submit("svg", _spec(800, f"#00000{i}"), charts.VL_VERSION)
                for i in range(8)))  # ~100 kB: more than a pipe holds
            sender.start()
            sender.join(timeout=30)
            assert not sender.is_alive() and len(tickets) == 8
        finally:
            os.kill(worker._proc.pid, signal.SIGCONT)
        assert worker.result(tickets[-1]).count('fill="#000007') == 800
        assert worker.call("ping") == "pong"


def test_an_error_in_the_worker_reaches_the_caller_and_the_worker_goes_on() -> None:
    with svg_worker.running() as worker:
        assert worker is not None
        with pytest.raises(ValueError, match="conversion failed"):
            worker.call("svg", '{"mark": 12}', charts.VL_VERSION)
        with pytest.raises(ValueError, match="unknown operation 'nope'"):
            worker.call("nope")
        assert worker.call("ping") == "pong" and svg_worker.current() is worker
        # It draws at a lower priority than the build (it warms up while the build runs).
        assert os.getpriority(os.PRIO_PROCESS, worker._proc.pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert not worker.alive and svg_worker.current() is None


def test_the_report_drawn_in_the_worker_is_the_report_drawn_here(tmp_path: Path) -> None:
    serving = _serving(tmp_path / "s.duckdb", extra=NPS_EXTRA)
    charts._DRAWN.clear()
    with svg_worker.running() as worker:
        assert worker is not None
        drawn_there = _report(serving)
        assert worker.alive and worker._sent >= 10  # every chart went to the worker
    charts._DRAWN.clear()
    drawn_here = _report(serving)
    assert _same(drawn_there.html) == _same(drawn_here.html)
    assert drawn_here.html.count('<div class="vl-static"><svg') >= 10


def test_a_worker_that_dies_half_way_leaves_the_drawing_to_this_process(tmp_path: Path) -> None:
    serving = _serving(tmp_path / "s.duckdb", extra=NPS_EXTRA)
    charts._DRAWN.clear()
    expected = _same(_report(serving).html)
    charts._DRAWN.clear()
    with svg_worker.running() as worker:
        assert worker is not None
        figure = charts.Figure(charts.json.loads(_spec(5)), "five bars")  # sent ahead
        worker._proc.kill()
        worker._proc.wait()
        assert figure.svg().startswith("<svg")  # drawn here instead
        assert svg_worker.current() is None
        with pytest.raises(WorkerGone):
            worker.call("ping")
        assert _same(_report(serving).html) == expected
