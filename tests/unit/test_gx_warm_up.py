"""The build loads GX on a background thread (gx_runner.warm_up); a check that arrives
while it loads must wait for that context, not make a second one."""

from __future__ import annotations

import threading
import time

import great_expectations as gx
import pandas as pd

from dagster_project.quality import gx_runner


def test_a_check_during_the_warm_up_shares_its_context(monkeypatch):
    monkeypatch.setattr(gx_runner, "_batch_definition", None)
    monkeypatch.setattr(gx_runner, "_warm_up_started", threading.Event())
    made: list[str] = []
    warming = threading.Event()
    real = gx.get_context

    def slow_context(*args, **kwargs):  # a slow start: the check arrives while it runs
        made.append(threading.current_thread().name)
        warming.set()
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(gx, "get_context", slow_context)
    gx_runner.warm_up()
    gx_runner.warm_up()  # once per process
    assert warming.wait(timeout=60)  # the warm-up is making the context now
    first = gx_runner._gx_batch_definition()
    assert made == ["gx-warm-up"]
    assert first is gx_runner._batch_definition
    outcomes = gx_runner._run_gx(
        pd.DataFrame({"n": [1, 2, None]}), "warm",
        [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "n"}}],
    )
    assert [(o.success, o.unexpected_count) for o in outcomes] == [(False, 1)]
