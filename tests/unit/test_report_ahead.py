"""The KPI report drawn before the publish (defs/reports/ahead.py): used only when it was drawn
for what was published, and then the same page as one drawn from the serving database."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb

from dagster_project.defs.reports import ahead
from dagster_project.reports.kpi_report import draw_report, write_report
from dagster_project.resources import WarehouseResource, holding_open
from dagster_project.settings import load_settings
from tests.unit.test_kpi_report import SAAS_COLUMNS, SAAS_ROWS, _serving

INFO = {"as_of_date": "2024-03-15", "reporting_currency": "EUR"}


def _warehouse(path: Path, *, mrr_end_feb: float = 1350) -> Path:
    """The marts of tests.unit.test_kpi_report's serving database, as a build's working
    warehouse holds them before the publish (no ops.build_info), with its as-of date."""
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema intermediate")
    con.execute("create table intermediate.int_as_of_date as select date '2024-03-15' as as_of_date")
    con.execute(f"create table marts.saas_metrics_monthly ({SAAS_COLUMNS})")
    rows = [list(r) for r in SAAS_ROWS]
    mrr_end = [c.split()[0] for c in SAAS_COLUMNS.split(", ")].index("mrr_end")
    for row in rows:
        if str(row[0]) == "2024-02-01":
            row[mrr_end] = mrr_end_feb
    con.executemany(f"insert into marts.saas_metrics_monthly values ({', '.join('?' * 28)})",
                    rows)
    con.close()
    return path


def _numbered(html: str) -> str:
    return re.sub(r"view_[0-9a-f]{16}|clip\d+", "#", html)


def _draft(warehouse: Path, info: dict[str, str]):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return draw_report(con, info)
    finally:
        con.close()


def test_a_draft_of_the_marts_before_the_publish_gives_the_page_drawn_after(tmp_path: Path) -> None:
    serving = _serving(tmp_path / "serving.duckdb")
    draft = _draft(_warehouse(tmp_path / "warehouse.duckdb"), INFO)
    drawn_after = write_report(serving, tmp_path / "after.html")
    from_draft = write_report(serving, tmp_path / "ahead.html", draft=draft)
    assert from_draft.drawn_ahead and not drawn_after.drawn_ahead
    # the same page, the publish's time and version included (but for the names that count
    # the charts a process has drawn: Altair's unnamed selections, vl-convert's clip paths;
    # the page of a build and that of `product-metrics report` are the same bytes)
    assert _numbered((tmp_path / "ahead.html").read_text()) == _numbered(
        (tmp_path / "after.html").read_text())
    assert "published 2024-03-16 02:00:00 UTC" in from_draft.html
    assert [t.value for t in from_draft.tiles] == [t.value for t in drawn_after.tiles]
    assert from_draft.tiles[0].value == "\u20ac1.35k"


def test_the_draft_is_what_is_shown_when_it_fits(tmp_path: Path) -> None:
    # The draft is taken as it is (the build guarantees the publish copies the marts it was
    # drawn from): drawn from other numbers, they are the ones shown.
    serving = _serving(tmp_path / "serving.duckdb")
    draft = _draft(_warehouse(tmp_path / "warehouse.duckdb", mrr_end_feb=2000), INFO)
    report = write_report(serving, tmp_path / "ahead.html", draft=draft)
    assert report.drawn_ahead and report.tiles[0].value == "\u20ac2k"


def test_a_draft_for_another_build_info_or_other_settings_is_drawn_again(tmp_path: Path) -> None:
    serving = _serving(tmp_path / "serving.duckdb")
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", mrr_end_feb=2000)
    drawn_after = write_report(serving, tmp_path / "after.html")
    for info, kwargs in (
        ({**INFO, "as_of_date": "2024-03-14"}, {}),  # another as-of date
        ({**INFO, "reporting_currency": "USD"}, {}),  # another currency
        (INFO, {"params": {"forecast_months": 6}}),  # other metric parameters
    ):
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            draft = draw_report(con, info, **kwargs)
        finally:
            con.close()
        report = write_report(serving, tmp_path / "again.html", draft=draft)
        assert not report.drawn_ahead, info
        assert report.tiles[0].value == "\u20ac1.35k"  # the served numbers, not the draft's
        assert _numbered(report.html) == _numbered(drawn_after.html)


def _event(kind: str, key: dg.AssetKey | None = None) -> SimpleNamespace:
    data = SimpleNamespace(materialization=SimpleNamespace(asset_key=key))
    return SimpleNamespace(dagster_event=SimpleNamespace(event_type_value=kind,
                                                         event_specific_data=data))


MARTS = [dg.AssetKey(["marts", "saas_metrics_monthly"]), dg.AssetKey(["marts", "nps_monthly"])]


def test_drawing_starts_after_the_step_that_built_the_last_mart(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    settings = load_settings(env={}, base_dir=tmp_path, warehouse_path=warehouse,
                             reporting_currency="EUR")
    with holding_open(warehouse), ahead.drawing(settings, MARTS) as listener:
        assert ahead.current() is listener
        with WarehouseResource.from_settings(settings).connect():
            pass  # the build's first step opens the warehouse, which then stays open
        listener(_event("ASSET_MATERIALIZATION", MARTS[0]))
        listener(_event("STEP_SUCCESS"))
        assert not listener.started  # a mart still to build
        listener(_event("ASSET_MATERIALIZATION", MARTS[1]))
        assert not listener.started  # its step has not ended
        listener(_event("STEP_SUCCESS"))
        assert listener.started
        draft = listener.take()
        assert draft is not None and listener.error is None
        assert draft.drawn_for[:2] == ("2024-03-15", "EUR")
        assert draft.tiles[0].value == "\u20ac1.35k"
    assert ahead.current() is None


def test_without_the_warehouse_open_nothing_is_drawn_ahead(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    settings = load_settings(env={}, base_dir=tmp_path, warehouse_path=warehouse)
    with ahead.drawing(settings, MARTS[:1]) as listener:
        listener(_event("ASSET_MATERIALIZATION", MARTS[0]))
        listener(_event("STEP_SUCCESS"))
        assert listener.started and listener.take() is None
        assert listener.error == "the warehouse was not open"


def test_a_drawing_that_fails_leaves_the_report_to_its_step(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()  # no marts, no as-of date
    settings = load_settings(env={}, base_dir=tmp_path, warehouse_path=warehouse)
    with holding_open(warehouse), ahead.drawing(settings, MARTS[:1]) as listener:
        with WarehouseResource.from_settings(settings).connect():
            pass
        listener(_event("ASSET_MATERIALIZATION", MARTS[0]))
        listener(_event("STEP_SUCCESS"))
        assert listener.take() is None
        assert listener.error is not None and "int_as_of_date" in listener.error


def test_with_no_mart_to_wait_for_nothing_is_drawn_ahead(tmp_path: Path) -> None:
    # (it would draw the marts the warehouse holds from an earlier build)
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    settings = load_settings(env={}, base_dir=tmp_path, warehouse_path=warehouse)
    with holding_open(warehouse), ahead.drawing(settings, []) as listener:
        with WarehouseResource.from_settings(settings).connect():
            pass
        listener(_event("STEP_SUCCESS"))
        assert listener.take() is None and listener._thread is None
