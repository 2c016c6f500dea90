"""The build's progress line, fed with the Dagster events of a made-up run."""

from __future__ import annotations

import io
from types import SimpleNamespace

import dagster as dg

from dagster_project.progress import BuildProgress, stage_of


def _entry(kind: str, step: str = "", **data: object) -> SimpleNamespace:
    return SimpleNamespace(dagster_event=SimpleNamespace(
        event_type_value=kind, step_key=step, event_specific_data=SimpleNamespace(**data)))


def _materialized(key: list[str], rows: int | None = None) -> SimpleNamespace:
    meta = {} if rows is None else {"derived_rows": dg.IntMetadataValue(rows),
                                    "dagster/row_count": dg.IntMetadataValue(10 * rows)}
    return _entry("ASSET_MATERIALIZATION", materialization=SimpleNamespace(
        asset_key=dg.AssetKey(key), metadata=meta))


def _run(progress: BuildProgress) -> None:
    progress(_entry("STEP_START", "raw__invoices"))
    progress(_materialized(["raw", "invoices"], rows=1200))
    progress(_entry("ASSET_CHECK_EVALUATION", "raw__invoices"))
    progress(_entry("STEP_SUCCESS", "raw__invoices"))
    progress(_entry("STEP_START", "raw__users"))
    progress(_materialized(["raw", "users"], rows=34))
    progress(_entry("STEP_SUCCESS", "raw__users"))
    progress(_entry("STEP_START", "dbt_models"))
    progress(_materialized(["marts", "saas_metrics_monthly"], rows=24))  # not ingested rows
    progress(SimpleNamespace(dagster_event=None))  # a plain log line: ignored


def test_a_log_gets_a_plain_line_when_each_step_starts_and_ends() -> None:
    out = io.StringIO()
    progress = BuildProgress(out, total_assets=5, tty=False)
    _run(progress)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5  # 3 starts, 2 ends; nothing for materialisations or checks
    assert lines[0].endswith("] ingest | assets 0/5 | checks 0 | rows ingested 0 | "
                             "started raw__invoices")
    assert "] ingest | assets 2/5 | checks 1 | rows ingested 1,234 | slowest raw__" in lines[3]
    assert lines[4].split("] ", 1)[1].startswith("dbt | assets 2/5")
    assert lines[4].endswith("started dbt_models")
    assert progress.rows_ingested == 1234 and len(progress.assets_done) == 3


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    out = io.StringIO()
    progress = BuildProgress(out, total_assets=5, tty=True, min_interval=0)
    _run(progress)
    text = out.getvalue()
    assert "\n" not in text and text.count("\r") >= 5
    assert "running dbt_models" in text.rsplit("\r", 1)[-1]
    progress.finish()
    assert out.getvalue().endswith("\r")


def test_steps_are_named_by_their_stage() -> None:
    assert [stage_of(s) for s in ("raw__users", "dbt_models",
                                  "serving__published_marts", "serving__kpi_report",
                                  "marts__saas_metrics_monthly_gx")] == [
        "ingest", "dbt", "publish", "report", "checks"]
