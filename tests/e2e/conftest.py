"""The whole graph on a small demo data set, built once per test session."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.kept import copy_warehouse
from dagster_project.settings import Settings, load_settings

# Small, but long enough for churn, reactivation, annual renewals and every mart.
DEMO = {"customers": 60, "days": 240, "start": dt.date(2024, 1, 1), "seed": 7}


def settings_for(root: Path, **overrides: object) -> Settings:
    return load_settings(env={}, base_dir=root, **overrides)


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dagster_project.generate import generate

    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate(landing, **DEMO)
    return landing


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path):
    """(settings, report) of one full build of the demo data."""
    from dagster_project.build import run_build

    root = tmp_path_factory.mktemp("build")
    settings = settings_for(root, landing_dir=demo_landing)
    report = run_build(settings)
    assert report.published, report.describe()
    return settings, report


@pytest.fixture()
def serving(built) -> duckdb.DuckDBPyConnection:
    """The serving database the session build published, opened read-only."""
    settings, _ = built
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    yield con
    con.close()


@pytest.fixture()
def published_copy(tmp_path: Path, built) -> Path:
    """A private copy of a good build (landing, warehouse, serving) to break on purpose."""
    settings, _ = built
    root = tmp_path / "copy"
    shutil.copytree(settings.landing_dir, root / "landing")
    (root / "data").mkdir(parents=True)
    copy_warehouse(settings.warehouse_path, root / "data" / "warehouse.duckdb")
    shutil.copy(settings.serving_path, root / "data" / "serving.duckdb")
    shutil.copytree(settings.parquet_dir, root / "data" / "serving" / "parquet")
    return root
