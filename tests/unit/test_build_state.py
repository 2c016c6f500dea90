"""Nothing new landed: the signature of a build's inputs, and what makes the next build run."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_project import build_state
from dagster_project.settings import load_settings


def _setup(tmp_path: Path):
    landing = tmp_path / "landing"
    (landing / "invoices").mkdir(parents=True, exist_ok=True)
    (landing / "invoices" / "a.csv").write_text("invoice_id\ni1\n")
    settings = load_settings(env={}, base_dir=tmp_path, landing_dir=landing)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.write_bytes(b"warehouse")
    settings.serving_path.write_bytes(b"serving")
    build_state.record(settings, "run-1", build_state.signature(settings))
    return settings


def test_the_same_inputs_are_recognised(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    last = build_state.unchanged(settings)
    assert last is not None and last["run_id"] == "run-1"


def test_a_new_landing_file_makes_the_next_build_run(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    (settings.landing_dir / "invoices" / "dt=2024-01-02").mkdir()
    (settings.landing_dir / "invoices" / "dt=2024-01-02" / "b.csv").write_text("invoice_id\n")
    assert build_state.unchanged(settings) is None


def test_a_touched_landing_file_makes_the_next_build_run(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    path = settings.landing_dir / "invoices" / "a.csv"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert build_state.unchanged(settings) is None


def test_another_setting_makes_the_next_build_run(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    other = load_settings(env={"METRICS_REPORTING_TIMEZONE": "Europe/Paris"}, base_dir=tmp_path,
                          landing_dir=settings.landing_dir)
    assert build_state.unchanged(other) is None


def test_a_changed_or_missing_database_makes_the_next_build_run(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    settings.warehouse_path.write_bytes(b"warehouse, fixed by hand")
    assert build_state.unchanged(settings) is None
    settings = _setup(tmp_path)
    settings.serving_path.unlink()
    assert build_state.unchanged(settings) is None


def test_a_forgotten_build_makes_the_next_build_run(tmp_path: Path) -> None:
    settings = _setup(tmp_path)
    build_state.forget(settings)
    assert build_state.unchanged(settings) is None
    assert not build_state.state_path(settings).exists()
