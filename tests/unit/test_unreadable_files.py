"""A landing file that cannot be read at all is named with its size and blocks publishing,
unless METRICS_ALLOW_UNREADABLE_FILES says otherwise (then it is a warning)."""

from __future__ import annotations

import gzip
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.ingest.assets import READABLE_CHECK, build_ingestion_assets
from dagster_project.resources import WarehouseResource
from dagster_project.settings import load_settings

HEADER = "lead_id,created_at\n"


def _landing(root: Path) -> Path:
    landing = root / "landing"
    (landing / "leads").mkdir(parents=True)
    (landing / "leads" / "a.csv").write_text(HEADER + "l1,2024-01-01\n")
    whole = gzip.compress((HEADER + "l2,2024-01-02\n" * 50).encode())
    (landing / "leads" / "b.csv.gz").write_bytes(whole[: len(whole) // 2])
    return landing


@pytest.mark.parametrize("allowed", [False, True])
def test_an_unreadable_file_is_named_with_its_size(tmp_path: Path, allowed: bool) -> None:
    landing = _landing(tmp_path)
    env = {"METRICS_ALLOW_UNREADABLE_FILES": "true"} if allowed else {}
    settings = load_settings(env=env, base_dir=tmp_path, landing_dir=landing)
    (asset,) = [a for a in build_ingestion_assets(settings) if a.key == dg.AssetKey(["raw", "leads"])]
    result = dg.materialize([asset], resources={
        "warehouse": WarehouseResource.from_settings(settings)},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == READABLE_CHECK]
    size = (landing / "leads" / "b.csv.gz").stat().st_size
    assert not check.passed
    assert check.severity == (dg.AssetCheckSeverity.WARN if allowed else dg.AssetCheckSeverity.ERROR)
    assert check.description.startswith(
        f"leads: 1 landing file(s) cannot be read at all and hold no rows: leads/b.csv.gz "
        f"({size:,} bytes): cannot read file: ")
    assert ("published without them" if allowed else "fix or remove them") in check.description
    # the readable file's row is in; the unreadable one is not counted as a row
    materialization = result.asset_materializations_for_node("raw__leads")[0]
    assert materialization.metadata["landed_rows"].value == 1
    assert materialization.metadata["unreadable_files"].value == 1
