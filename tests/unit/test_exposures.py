"""The dbt exposures (dbt_models/models/_exposures.yml) name what their consumers read."""

from __future__ import annotations

import json
import re

from dagster_project.settings import PROJECT_ROOT
from dagster_project.transform.manifest import (
    SEMANTIC_MANIFEST_PATH,
    ensure_manifest,
    mart_names,
)


def _exposures() -> dict[str, set[str]]:
    manifest = json.loads(ensure_manifest().read_text())
    return {e["name"]: {n.split(".")[-1] for n in e["depends_on"]["nodes"]}
            for e in manifest["exposures"].values()}


def test_the_parquet_export_depends_on_every_published_mart() -> None:
    assert _exposures()["parquet_export"] == set(mart_names())


def test_the_kpi_report_depends_on_the_marts_its_code_reads() -> None:
    reports = PROJECT_ROOT / "dagster_project" / "reports"
    code = "\n".join(path.read_text() for path in sorted(reports.rglob("*.py")))
    read = set(re.findall(r"from marts\.(\w+)", code))  # SQL, and Context.read's first argument
    read |= set(re.findall(r"\bread\(\s*\"(\w+)\"", code))  # (also through cohort_chart):
    read |= set(re.findall(r"\bcohort_chart\(\s*ctx,\s*\"(\w+)\"", code))
    dbt_marts = set(mart_names())
    assert read - dbt_marts == {"buying_trend_monthly"}  # a Python asset, not a dbt model
    assert _exposures()["kpi_report"] == read & dbt_marts


def test_the_semantic_layer_depends_on_the_models_its_semantic_models_read() -> None:
    ensure_manifest()
    semantic = json.loads(SEMANTIC_MANIFEST_PATH.read_text())
    models = {sm["node_relation"]["alias"] for sm in semantic["semantic_models"]}
    spine = {t["node_relation"]["alias"]
             for t in semantic["project_configuration"]["time_spines"]}
    assert spine == {"metric_time_spine"}
    assert _exposures()["semantic_layer_queries"] == models | spine


def test_the_metric_catalog_in_docs_is_current() -> None:
    from dagster_project.semantic.doc import DOC_PATH, doc_with_catalog, load_manifest

    doc = DOC_PATH.read_text()
    assert doc == doc_with_catalog(doc, load_manifest()), (
        "docs/SEMANTIC_LAYER.md's catalog is out of date: run "
        "`.venv/bin/python -m dagster_project.semantic.doc`")
