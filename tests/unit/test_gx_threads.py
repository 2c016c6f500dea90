"""Builds used to fail at random (about one in seven) with "partially initialized module
'sqlalchemy.orm.exc' has no attribute 'UnmappedClassError'": Great Expectations was
imported on a background "warm-up" thread while an ingestion step ran, and a module that
both threads import (sqlalchemy.orm) was seen half-initialised by one of them. The cause
is removed: nothing a build runs imports on a second thread. These tests watch every import
of a fresh interpreter that ingests a source and then runs a GX check, as a build does, with
GX in this process or, as `product-metrics build` runs it, in a worker process (which
loads GX on another core and leaves this process without it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys, threading

    off_main = {}

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            thread = threading.current_thread()
            if thread is not threading.main_thread():
                off_main.setdefault(thread.name, []).append(name)
            return None

    sys.meta_path.insert(0, Watch())

    import contextlib
    import dagster as dg
    import pandas as pd
    from dagster_project.defs.ingest.assets import build_ingestion_assets
    from dagster_project.generate import generate
    from dagster_project.quality import gx_runner, gx_worker
    from dagster_project.resources import WarehouseResource
    from dagster_project.settings import load_settings

    from pathlib import Path
    root = Path(sys.argv[1])
    stack = contextlib.ExitStack()
    worker = stack.enter_context(gx_worker.running()) if sys.argv[2] == "worker" else None
    settings = load_settings(env={}, base_dir=root)
    generate(settings.landing_dir, customers=5, days=20, seed=3)
    wanted = {dg.AssetKey(["raw", "customers"]), dg.AssetKey(["raw", "bookings"])}
    assets = [a for a in build_ingestion_assets(settings) if a.key in wanted]
    result = dg.materialize(
        assets, resources={"warehouse": WarehouseResource.from_settings(settings)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    outcome = gx_runner.validate_frame(
        pd.DataFrame({"n": [1, None]}),
        {"name": "s", "meta": {}, "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "n"}}]},
    ).outcomes[0]
    used_worker = worker is not None and gx_worker.current() is worker
    stack.close()
    print(json.dumps({
        "used_worker": used_worker,
        "success": result.success,
        "off_main": off_main,
        "gx_loaded": "great_expectations" in sys.modules,
        "null_rows": outcome.unexpected_count,
        "threads": sorted(t.name for t in threading.enumerate()),
    }))
    """
)


def _run(tmp_path: Path, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), mode], check=False, capture_output=True, text=True,
        timeout=300, cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ingestion_and_a_gx_check_import_nothing_off_the_main_thread(tmp_path: Path):
    seen = _run(tmp_path, "here")
    assert seen["success"] and not seen["used_worker"]
    # The old warm-up imported great_expectations (and sqlalchemy.orm with it) on a thread
    # named gx-warm-up while the step ran: that is the race.
    assert seen["off_main"] == {}
    assert "gx-warm-up" not in seen["threads"]
    # GX still works, made on first use by the check's own thread.
    assert seen["gx_loaded"] and seen["null_rows"] == 1


def test_with_the_worker_gx_stays_out_of_this_process(tmp_path: Path):
    seen = _run(tmp_path, "worker")
    assert seen["success"] and seen["used_worker"]
    assert seen["off_main"] == {}
    # the check's answer came from the worker: this interpreter never imported GX
    assert not seen["gx_loaded"] and seen["null_rows"] == 1
