"""The KPI report on hand-made serving databases: numbers computed by hand, and a clear
"no data" panel (never a crash) for every mart that is missing, empty or NULL."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main
from dagster_project.errors import MetricsError
from dagster_project.reports.charts import Figure, schema_errors
from dagster_project.reports.kpi_report import PANEL_KEYS, render_report, write_report
from dagster_project.reports.report_page import MetricDoc
from tests.vega_support import spec_rows

SAAS_COLUMNS = (
    "month date, mrr_start double, new_mrr double, expansion_mrr double, reactivation_mrr double, "
    "contraction_mrr double, churned_mrr double, mrr_end double, net_new_mrr double, arr_end double, "
    "customers_start integer, new_customers integer, reactivated_customers integer, "
    "churned_customers integer, customers_end integer, arpa double, logo_churn_rate double, "
    "customer_retention_rate double, gross_mrr_churn_rate double, net_mrr_churn_rate double, "
    "net_revenue_retention double, gross_revenue_retention double, quick_ratio double, ltv double, "
    "sales_marketing_spend double, cac double, ltv_to_cac double, cac_payback_months double"
)
# Jan: 1,000 of new MRR. Feb: 1,000 + 500 + 100 - 50 - 200 = 1,350. Mar (to the 15th):
# 1,350 + 300 + 50 - 100 = 1,600. Rates of Feb by hand: logo churn 1/4, quick ratio
# (500 + 100) / (50 + 200) = 2.4, NRR (1,000 + 100 - 50 - 200) / 1,000 = 0.85.
SAAS_ROWS = [
    (
        "2024-01-01",
        0,
        1000,
        0,
        0,
        0,
        0,
        1000,
        1000,
        12000,
        0,
        4,
        0,
        0,
        4,
        250,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        8000,
        2000,
        None,
        2.5,
    ),
    (
        "2024-02-01",
        1000,
        500,
        100,
        0,
        50,
        200,
        1350,
        350,
        16200,
        4,
        2,
        0,
        1,
        5,
        270,
        0.25,
        0.75,
        0.25,
        0.15,
        0.85,
        0.75,
        2.4,
        864,
        3000,
        1500,
        0.576,
        3.75,
    ),
    (
        "2024-03-01",
        1350,
        300,
        0,
        50,
        0,
        100,
        1600,
        250,
        19200,
        5,
        1,
        1,
        1,
        6,
        266.67,
        0.2,
        0.8,
        0.074,
        0.037,
        0.93,
        0.93,
        3.5,
        1000,
        1000,
        1000,
        1.0,
        4.1,
    ),
]


SCORECARD_DDL = (
    "create table marts.kpi_scorecard (kpi varchar, grain varchar, period_start date, "
    "actual double, target double, attainment double, status varchar, previous_actual double, "
    "change double, direction varchar, unit varchar);"
)


def _serving(path: Path, *, saas: bool = True, extra: str = "") -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema ops")
    con.execute("create table ops.build_info (key varchar, value varchar)")
    con.executemany(
        "insert into ops.build_info values (?, ?)",
        [
            ["as_of_date", "2024-03-15"],
            ["reporting_currency", "EUR"],
            ["published_at", "2024-03-16T02:00:00"],
            ["version", "0.1.0"],
        ],
    )
    if saas:
        con.execute(f"create table marts.saas_metrics_monthly ({SAAS_COLUMNS})")
        con.executemany(
            f"insert into marts.saas_metrics_monthly values ({', '.join('?' * 28)})",
            [list(r) for r in SAAS_ROWS],
        )
    if extra:
        con.execute(extra)
    con.close()
    return path


# The semantic layer's metrics as the build publishes them (names, labels, descriptions):
# the report names and defines its KPIs by them.
METRICS = [
    MetricDoc("arr", "ARR", "12 x MRR at the end of the period."),
    MetricDoc("customers", "Customers", "Active customers (MRR > 0) at the end of the period."),
    MetricDoc("dau_mau", "Stickiness (DAU/MAU)", "Each day's DAU / MAU, the mean."),
    MetricDoc("logo_churn_rate", "Logo churn rate", "Churned customers / customers at the start."),
    MetricDoc("mrr", "MRR", "Monthly recurring revenue at the end of the period."),
    MetricDoc("net_mrr_churn_rate", "Net MRR churn rate", "(churned + contraction - expansion"
              " - reactivation MRR) / MRR at the start; <0 when expansion wins."),
    MetricDoc("net_revenue_retention", "Net revenue retention (NRR)", "End / start MRR of the "
              "month-start customers."),
    MetricDoc("nps", "NPS", "100 x (promoters - detractors) / responses."),
    MetricDoc("quick_ratio", "SaaS quick ratio", "Gains / losses of MRR."),
]


def _report(path: Path, metrics=tuple(METRICS)):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return render_report(con, metrics=metrics)
    finally:
        con.close()


def _kpi_cell(name: str, label: str) -> str:
    """The scorecard's KPI cell: the metric's label, linked to its definition."""
    return f'<tr><td><a href="#metric-{name}">{label}</a></td>'



class _Page(HTMLParser):
    """Ids, links, script/link tags and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "href" and value:
                self.hrefs.append(value)
            if name in {"src", "href"} and value and re.match(r"(https?:)?//", value):
                self.external.append(value)


def test_saas_panels_show_hand_computed_numbers(tmp_path: Path) -> None:
    report = _report(_serving(tmp_path / "serving.duckdb"))
    panels = {p.key: p for p in report.panels}
    assert report.currency == "EUR" and str(report.as_of) == "2024-03-15"
    tiles = {t.label: t for t in report.tiles}
    # One period for every headline: the last complete month (February); the partial March
    # is left out of the tiles (the charts draw it lighter).
    assert tiles["MRR"].value == "\u20ac1.35k" and tiles["MRR"].when == "end of Feb 2024"
    assert tiles["MRR"].delta == "+\u20ac350 (+35.0%) in the month"  # 350 / 1,000
    assert tiles["ARR"].value == "\u20ac16.2k"
    assert tiles["Customers"].value == "5" and tiles["Customers"].delta == "+1 in the month"
    assert (
        tiles["Net revenue retention (NRR)"].value == "85.0%"
        and tiles["Net revenue retention (NRR)"].when == "Feb 2024"
    )
    assert tiles["Logo churn rate"].value == "25.0%"
    assert tiles["SaaS quick ratio"].value == "2.4\u00d7"
    assert tiles["MRR"].raw == 1350  # unrounded for the Dagster UI
    assert ("figures for <b>Feb 2024</b>, the last complete month (quarterly targets: "
            "Q4 2023); Mar 2024 to date drawn lighter, apart") in report.html

    bridge = panels["mrr-bridge"]
    assert bridge.title == "MRR bridge, Feb 2024"
    # as vl-convert lays it out (the browser sums the rows the filters keep; this database
    # has no mrr_movements_monthly: the month's totals, a zero reactivation has no bar)
    from tests.vega_support import scene_items

    bars = [r["description"].split(" | ")[:2]
            for r in sorted(scene_items(bridge.svgs[0].spec, "rect"), key=lambda r: r["x"])]
    assert [(step, float(value)) for step, value in bars] == [
        ("Start", 1000), ("New", 500), ("Expansion", 100), ("Contraction", -50),
        ("Churn", -200), ("End", 1350)]
    labels = [t["text"] for t in scene_items(bridge.svgs[0].spec, "text")]
    assert labels == ["\u20ac1k", "+\u20ac500", "+\u20ac100", "\u2212\u20ac50", "\u2212\u20ac200",
                      "\u20ac1.35k"]
    assert panels["mrr"].note == "Mar 2024 is month to date (through 15 Mar 2024), drawn lighter."
    for key in (
        "mrr",
        "mrr-bridge",
        "arr",
        "customers",
        "churn",
        "nrr",
        "quick-ratio",
        "cac",
        "ltv-cac",
        "payback",
    ):
        assert panels[key].has_chart, (key, panels[key].empty, panels[key].error)
    assert not report.failed_panels


def test_missing_marts_give_no_data_panels_not_errors(tmp_path: Path) -> None:
    report = _report(_serving(tmp_path / "serving.duckdb"))
    panels = {p.key: p for p in report.panels}
    assert [p.key for p in report.panels] == PANEL_KEYS
    assert panels["nps"].empty == "marts.nps_monthly is not in the serving database (run a build)."
    assert panels["funnel"].empty and panels["user-cohorts"].empty and panels["scorecard"].empty
    assert report.html.count('class="chart no-data"') == len(report.empty_panels)


def test_an_empty_database_renders_every_panel_as_no_data(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    report = _report(path)
    assert len(report.empty_panels) == len(PANEL_KEYS) and not report.failed_panels
    assert report.tiles == [] and report.as_of is None and report.currency == "USD"
    assert "Data through <b>unknown</b>" in report.html


def test_with_only_a_month_to_date_rates_wait_for_a_complete_month(tmp_path: Path) -> None:
    path = tmp_path / "serving.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema ops")
    con.execute("create table ops.build_info as select 'as_of_date' as key, '2024-01-15' as value")
    con.execute(f"create table marts.saas_metrics_monthly ({SAAS_COLUMNS})")
    con.execute(
        f"insert into marts.saas_metrics_monthly values ({', '.join('?' * 28)})", list(SAAS_ROWS[0])
    )
    con.close()
    panels = {p.key: p for p in _report(path).panels}
    assert panels["mrr"].has_chart and panels["mrr-bridge"].title == "MRR bridge, Jan 2024"
    for key in ("churn", "nrr", "quick-ratio", "cac", "ltv-cac", "payback"):
        assert (
            panels[key].empty == "no complete month yet: rates are drawn once a whole month is in."
        )


def test_an_empty_table_and_a_null_series_say_why(tmp_path: Path) -> None:
    path = _serving(
        tmp_path / "serving.duckdb",
        extra=(
            "create table marts.nps_monthly (month date, responses integer, promoters integer, "
            "passives integer, detractors integer, nps double);"
            "insert into marts.nps_monthly values ('2024-01-01', 0, 0, 0, 0, null), ('2024-02-01', 0, 0, 0, 0, null);"
            "create table marts.funnel_monthly (month date, step_order integer, step_name varchar, users integer)"
        ),
    )
    panels = {p.key: p for p in _report(path).panels}
    assert panels["nps"].empty == "every NPS is empty (NULL): the data it needs has not landed."
    assert panels["funnel"].empty == (
        "marts.funnel_monthly has no rows: the landing source product_events has no data yet."
    )


def test_the_scorecard_shows_status_and_attainment_and_lists_targets_without_actuals(
    tmp_path: Path,
) -> None:
    # logo churn 25% against <= 10% (lower is better): attainment 0.10 / 0.25 = 40%, off track
    path = _serving(
        tmp_path / "serving.duckdb",
        extra=(
            SCORECARD_DDL
            + "insert into marts.kpi_scorecard values "
            "('logo_churn_rate', 'month', '2024-02-01', 0.25, 0.10, 0.4, 'off_track', null, null, 'lower_is_better', 'fraction'),"
            "('nps', 'month', '2024-02-01', null, 20, null, 'no_data', null, null, 'higher_is_better', 'score'),"
            "('nps', 'month', '2024-06-01', null, 20, null, 'no_data', null, null, 'higher_is_better', 'score')"
        ),
    )
    report = _report(path)
    card = next(p for p in report.panels if p.key == "scorecard")
    assert card.has_chart and report.scorecard_counts == {
        "off_track": 1,
        "at_risk": 0,
        "on_track": 0,
        "no_data": 1,
    }
    assert card.units == "Targets of Feb 2024 (the report's period); worst first"
    row = re.search(_kpi_cell("logo_churn_rate", "Logo churn rate") + "(.*?)</tr>",
                    card.html).group(1)
    assert "<b>25.0%</b>" in row and "≤ 10.0%" in row and ">40%<" in row and "Off track" in row
    assert "no actual yet for: NPS (Feb 2024)" in card.html
    assert "Jun 2024" not in card.html  # another period's target is not the report's
    assert report.off_track == ["Logo churn rate (Feb 2024)"]


def test_tiles_and_scorecard_show_the_same_period_and_values(tmp_path: Path) -> None:
    """As of 15 Mar 2024: February is the report's month (the tiles' rates and the monthly
    targets), Q4 2023 its last complete quarter; March to date is drawn apart, lighter, not
    counted. Attainment reads as a person expects: a lower-is-better KPI at its target is
    100%, and a ratio across zero is n/m."""
    path = _serving(
        tmp_path / "serving.duckdb",
        extra=(
            SCORECARD_DDL
            + "insert into marts.kpi_scorecard values "
            # February, as in saas_metrics_monthly: NRR 0.85, logo churn 0.25, quick ratio 2.4
            "('net_revenue_retention', 'month', '2024-02-01', 0.85, 1.0, 0.85, 'at_risk', null, null, 'higher_is_better', 'fraction'),"
            "('logo_churn_rate', 'month', '2024-02-01', 0.25, 0.25, 1.0, 'on_track', null, null, 'lower_is_better', 'fraction'),"
            "('quick_ratio', 'month', '2024-02-01', 2.4, 1.0, 2.4, 'on_track', null, null, 'higher_is_better', 'ratio'),"
            # net MRR churn +15% against -1%: the ratio -15 is not meaningful
            "('net_mrr_churn_rate', 'month', '2024-02-01', 0.15, -0.01, -15.0, 'off_track', null, null, 'lower_is_better', 'fraction'),"
            "('quick_ratio', 'quarter', '2023-10-01', 3.0, 4.0, 0.75, 'off_track', null, null, 'higher_is_better', 'ratio'),"
            "('quick_ratio', 'quarter', '2024-01-01', 3.5, 4.0, 0.875, 'at_risk', null, null, 'higher_is_better', 'ratio'),"
            "('logo_churn_rate', 'month', '2024-03-01', 0.2, 0.25, 1.25, 'on_track', null, null, 'lower_is_better', 'fraction')"
        ),
    )
    report = _report(path)
    tiles = {t.label: t for t in report.tiles}
    card = next(p for p in report.panels if p.key == "scorecard")
    assert card.units == "Targets of Feb 2024 and Q4 2023 (the report's period); worst first"
    for name in ("net_revenue_retention", "logo_churn_rate", "quick_ratio"):
        label = next(m.label for m in METRICS if m.name == name)
        assert tiles[label].when == "Feb 2024"
        row = re.search(re.escape(_kpi_cell(name, label)) + r'<td class="num"><b>([^<]+)</b>',
                        card.html)
        assert row.group(1) == tiles[label].value, label
    assert report.scorecard_counts == {"off_track": 2, "at_risk": 1, "on_track": 2,
                                       "no_data": 0}
    net = re.search(_kpi_cell("net_mrr_churn_rate", "Net MRR churn rate") + "(.*?)</tr>",
                    card.html).group(1)
    assert ">n/m<" in net and "Off track" in net
    churn = re.search(_kpi_cell("logo_churn_rate", "Logo churn rate") + "(.*?)</tr>",
                      card.html).group(1)
    assert ">100%<" in churn
    # the month to date apart: its own lighter table, not in the counts
    mtd = card.html.split('class="scorecard mtd"', 1)[1]
    assert "To date, not final · Mar 2024" in mtd and "<b>20.0%</b>" in mtd
    assert "Q1 2024" not in card.html  # the quarter to date is not the report's


def test_every_chart_is_a_valid_vega_lite_spec_holding_the_marts_numbers(tmp_path: Path) -> None:
    report = _report(_serving(tmp_path / "serving.duckdb"))
    figures = [c for p in report.panels for c in p.svgs if isinstance(c, Figure)]
    figures += [t.spark for t in report.tiles if isinstance(t.spark, Figure)]
    assert len(figures) >= 15
    for figure in figures:
        assert schema_errors(figure.spec) == [], figure.label
    # the MRR chart's bars are the mart's mrr_end, unrounded, month by month (this serving
    # database has no mrr_movements_monthly: one row a month, no segment to filter by)
    mrr = next(p for p in report.panels if p.key == "mrr").svgs[0]
    assert {r["segment"] for r in spec_rows(mrr.spec)} == {None}
    assert [(r["x"], r["value"]) for r in spec_rows(mrr.spec)] == [
        ("Jan 24", 1000.0), ("Feb 24", 1350.0), ("Mar 24", 1600.0)]
    # a spec that breaks the schema is caught
    assert schema_errors({**mrr.spec, "mark": "no-such-mark"}) != []


def test_the_page_is_one_offline_file_whose_links_all_land(tmp_path: Path) -> None:
    report = _report(_serving(tmp_path / "serving.duckdb"))
    page = _Page()
    page.feed(report.html)
    # scripts inline only: vega-embed's bundle, the page's own, and one spec per chart
    assert "link" not in page.tags and "img" not in page.tags
    assert page.external == [] and all("src" not in s for s in page.scripts)
    specs = [s for s in page.scripts if s.get("type") == "application/json"]
    code = [s for s in page.scripts if s.get("type") != "application/json"]
    assert len(code) == 2 and len(specs) == report.html.count('class="vl-spec"') > 0
    anchors = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert anchors and set(anchors) <= page.ids  # every definition link has its target
    # every panel has a title, units line and a definition link
    for panel in report.panels:
        assert f'id="chart-{panel.key}"' in report.html
        assert all(a in page.ids for a in panel.anchors)


def test_write_report_needs_a_serving_database(tmp_path: Path) -> None:
    with pytest.raises(MetricsError, match="no serving database"):
        write_report(tmp_path / "missing.duckdb", tmp_path / "report.html")


def test_report_command_writes_and_on_a_headless_machine_prints_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = _serving(tmp_path / "serving.duckdb")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--serving", str(serving), "--out", str(out), "--open"]) == 0
    printed = capsys.readouterr().out
    assert f"KPI report: {out}" in printed
    assert "no browser here" in printed
    assert out.read_text().startswith("<!doctype html>")


def test_report_command_without_serving_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--serving", str(tmp_path / "none.duckdb")]) == 2
    assert "run `product-metrics build` first" in capsys.readouterr().err


def test_the_forecast_band_is_clipped_to_plausible_revenue() -> None:
    from dagster_project.reports.sections.sales import forecast_band

    history = [{"revenue": 100.0, "smoothed": 100.0}, {"revenue": 300.0, "smoothed": 200.0},
               {"revenue": 200.0, "smoothed": 210.0}]
    forecast = [{"forecast": 210.0, "forecast_low": -150.0, "forecast_high": 900.0},
                {"forecast": 210.0, "forecast_low": 20.0, "forecast_high": 400.0}]
    line, low, high = forecast_band(history, forecast)
    # joins the history at the last smoothed value; never below 0 nor above 1.5 x 300
    assert line == [None, None, 210.0, 210.0, 210.0]
    assert low == [None, None, 210.0, 0.0, 20.0]
    assert high == [None, None, 210.0, 450.0, 400.0]


def test_the_waterfall_shows_the_last_12_months_and_the_line_every_month(tmp_path: Path) -> None:
    """15 months of MRR (Jan 2023 .. Mar 2024): the line keeps all, the waterfall the last 12."""
    import datetime as dt

    from dagster_project.reports import fmt

    rows = []
    for i in range(15):
        month = dt.date(2023 + (i // 12), i % 12 + 1, 1)
        rows.append((month.isoformat(), 100.0 * i, 100.0, *([0.0] * 4), 100.0 * (i + 1), 100.0,
                     1200.0 * (i + 1), i, 1, 0, 0, i + 1, *([None] * 13)))
    path = tmp_path / "serving.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(f"create table marts.saas_metrics_monthly ({SAAS_COLUMNS})")
    con.executemany(f"insert into marts.saas_metrics_monthly values ({', '.join('?' * 28)})",
                    [list(r) for r in rows])
    con.close()
    panel = next(p for p in _report(path).panels if p.key == "mrr")
    line, waterfall = panel.svgs
    first, kept = dt.date(2023, 1, 1), dt.date(2023, 4, 1)
    assert fmt.month_tick(first) in {r["x"] for r in spec_rows(line.spec)}
    assert f">{fmt.month_tick(first)}<" in line.svg()
    assert f">{fmt.month_tick(first)}<" not in waterfall.svg()
    assert f">{fmt.month_tick(kept)}<" in waterfall.svg() and ">Mar 24<" in waterfall.svg()


def test_kpis_are_named_and_defined_by_the_semantic_layers_metrics(tmp_path: Path) -> None:
    """One name and one definition per KPI: the tiles and the scorecard use the metrics'
    labels, each scorecard KPI links to its row in the appendix, which lists every metric
    with its description (escaped); without a manifest the names are the KPIs' own."""
    path = _serving(
        tmp_path / "serving.duckdb",
        extra=SCORECARD_DDL + "insert into marts.kpi_scorecard values ('net_mrr_churn_rate', "
        "'month', '2024-02-01', 0.15, -0.01, -15.0, 'off_track', null, null, "
        "'lower_is_better', 'fraction')",
    )
    report = _report(path)
    assert [t.label for t in report.tiles][:6] == [
        "MRR", "ARR", "Customers", "Net revenue retention (NRR)", "Logo churn rate",
        "SaaS quick ratio"]
    appendix = report.html.split('<h3 id="metrics">', 1)[1]
    assert appendix.count("<tr id=\"metric-") == len(METRICS)
    assert ('<tr id="metric-net_mrr_churn_rate"><td>Net MRR churn rate</td><td><code>'
            "net_mrr_churn_rate</code></td><td>(churned + contraction - expansion - "
            "reactivation MRR) / MRR at the start; &lt;0 when expansion wins.</td></tr>") in appendix
    links = set(re.findall(r'href="#(metric-[a-z_]+)"', report.html))
    assert links == {"metric-net_mrr_churn_rate"}
    assert all(f'id="{link}"' in report.html for link in links)

    bare = _report(path, metrics=())
    assert [t.label for t in bare.tiles][3:6] == [
        "Net revenue retention", "Logo churn rate", "Quick ratio"]
    assert '<h3 id="metrics">' not in bare.html and "<tr><td>Net mrr churn rate</td>" in bare.html


def test_metric_docs_come_from_a_semantic_manifest(tmp_path: Path) -> None:
    from dagster_project.reports.report_data import load_metric_docs

    manifest = tmp_path / "semantic_manifest.json"
    manifest.write_text(json.dumps({"metrics": [
        {"name": "nps", "label": "NPS", "description": "Promoters less detractors."},
        {"name": "arr", "label": "ARR", "description": "12 x MRR."}]}))
    assert load_metric_docs(manifest) == [MetricDoc("arr", "ARR", "12 x MRR."),
                                          MetricDoc("nps", "NPS", "Promoters less detractors.")]
    assert load_metric_docs(tmp_path / "missing.json") == [] and load_metric_docs(None) == []
    manifest.write_text("{not json")
    assert load_metric_docs(manifest) == []


def test_without_scripts_every_chart_is_its_static_svg(tmp_path: Path) -> None:
    """Where no script runs (mail clients, printouts, a locked-down browser) each figure
    shows the SVG vl-convert drew, with its marks; the live copy and the filter bar exist
    only once the page's script runs."""
    report = _report(_serving(tmp_path / "serving.duckdb"))
    figures = re.findall(r'<figure class="vl"(.*?)</figure>', report.html, re.DOTALL)
    # the panels', the tiles' and the month range's strip, which is in the hidden filter bar
    assert len(figures) == sum(isinstance(c, Figure) for p in report.panels for c in p.svgs) + sum(
        isinstance(t.spark, Figure) for t in report.tiles) + 1
    assert re.search(r'id="filters" hidden[^>]*>.*?<span class="months" id="months">.*?'
                     r'<figure class="vl" role="img" aria-label="MRR by month', report.html,
                     re.DOTALL)
    for figure in figures:
        static = figure.split('<div class="vl-static">', 1)[1].split("</div>", 1)[0]
        assert static.startswith("<svg") and static.rstrip().endswith("</svg>")
        assert re.search(r'class="mark-[a-z]+ role-mark[^"]*"[^>]*>\s*<(path|line|text)', static)
        assert "vl-live" not in figure  # added by the script
    # the stylesheet shows the static SVG unless the script drew the live chart
    assert "figure.vl .vl-live { display:none; }" in report.html
    assert "figure.vl.live .vl-static { display:none; }" in report.html
    assert 'id="filters" hidden' in report.html or 'id="filters"' not in report.html


def test_mrr_by_plan_tier_stacks_the_tiers_and_the_plan_filter_keeps_one_plan(
        tmp_path: Path) -> None:
    """Two months, three plans of two tiers (and a zero row): the stacked bars are the tiers'
    sums; choosing a plan keeps only its own bars."""
    from tests.vega_support import scene_items

    rows = ("(date '2024-01-01', 'Growth monthly', 'growth', 100.0), "
            "(date '2024-01-01', 'Growth annual', 'growth', 50.0), "
            "(date '2024-01-01', 'Business monthly', 'business', 0.0), "
            "(date '2024-02-01', 'Growth monthly', 'growth', 120.0), "
            "(date '2024-02-01', 'Business monthly', 'business', 300.0)")
    path = _serving(tmp_path / "serving.duckdb", extra=(
        "create table marts.mrr_by_plan_monthly as select * from (values " + rows
        + ") t(month, plan_name, tier, mrr_end)"))
    panel = next(p for p in _report(path).panels if p.key == "mrr-by-plan")
    (chart,) = panel.svgs
    assert chart.filters == ("plan",) and schema_errors(chart.spec) == []

    def bars(**chosen: str) -> dict[tuple[str, str], float]:
        """(month, tier) -> the bar's value, as vl-convert lays the chart out."""
        spec = {**chart.spec, "params": [{**p, "value": chosen.get(p["name"], p["value"])}
                                         for p in chart.spec["params"]]}
        out: dict[tuple[str, str], float] = {}
        for item in scene_items(spec, "rect"):
            month, tier, value = item["description"].split(" | ")
            out[(month, tier)] = float(value)
        return out

    assert bars() == {("Jan 24", "Growth"): 150.0, ("Feb 24", "Growth"): 120.0,
                      ("Feb 24", "Business"): 300.0}
    # the tier with the most MRR in the last month (Business) at the foot of each stack
    feb = {item["description"].split(" | ")[1]: item for item in scene_items(chart.spec, "rect")
           if item["description"].startswith("Feb 24")}
    assert feb["Business"]["y2"] > feb["Growth"]["y2"]
    assert feb["Growth"]["y2"] == pytest.approx(feb["Business"]["y"])
    assert bars(plan="Growth annual") == {("Jan 24", "Growth"): 50.0}
    assert bars(plan="Business monthly") == {("Feb 24", "Business"): 300.0}
    # the spec holds the mart's rows, each with its plan, unrounded
    assert sorted((r["x"], r["series"], r["plan"], r["value"]) for r in spec_rows(chart.spec)) == [
        ("Feb 24", "Business", "Business monthly", 300.0),
        ("Feb 24", "Growth", "Growth monthly", 120.0),
        ("Jan 24", "Growth", "Growth annual", 50.0),
        ("Jan 24", "Growth", "Growth monthly", 100.0)]



def test_altairs_lean_copies_give_the_same_charts(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """compat.lean_chart_copies (Altair's deep copy without calling constructors) changes no
    chart of the report: every spec equals the one Altair's own copy makes, but for the
    names Altair hashes for its views and parameters (which differ from one rendering to
    the next even with its own copy), compared by order of appearance."""
    import json
    import re

    from altair.utils import schemapi

    from dagster_project import compat

    serving = _serving(tmp_path / "serving.duckdb")

    def specs() -> list[str]:
        report = _report(serving)
        figures = [c for p in report.panels for c in p.svgs if isinstance(c, Figure)]
        figures += [t.spark for t in report.tiles if isinstance(t.spark, Figure)]
        names: dict[str, str] = {}
        return [re.sub(r"(?:view|param)_[0-9a-f]{16}|(?:view|param)_\d+",
                       lambda m: names.setdefault(m.group(0), f"name{len(names)}"),
                       json.dumps(f.spec, sort_keys=True, default=str)) for f in figures]

    lean = specs()  # rendering applies the patch
    assert schemapi._deep_copy._product_metrics
    monkeypatch.setattr(schemapi, "_deep_copy", schemapi._deep_copy.__wrapped__)
    monkeypatch.setattr(compat, "lean_chart_copies", lambda: None)
    own = specs()
    assert not getattr(schemapi._deep_copy, "_product_metrics", False)
    assert len(own) >= 15 and lean == own
