"""The KPI report of the demo build, looked at as a person would: in a real browser.

Uses the session's one demo build (`built`): the build's kpi_report asset has already
written the report beside the serving database.
"""

import base64
import datetime as dt
import html as html_lib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.reports import fmt
from dagster_project.reports.kpi_report import PANEL_KEYS
from dagster_project.settings import PROJECT_ROOT

# Collects script errors from the very start of the page.
HEAD_PROBE = """<script>window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message || e)); });
</script>"""
# After the page and its charts (vega-embed draws them asynchronously): per chart
# container, its visible SVGs, data marks (Vega's mark items; the hand-drawn charts'
# class="mark"), rendered size, and every pair of visible texts inside one SVG whose
# rendered boxes overlap (by more than a pixel each way).
BODY_PROBE = """<script>(function () {
  function visible(el) {
    for (var n = el; n && n.nodeType === 1; n = n.parentNode) {
      var style = getComputedStyle(n);
      if (style.display === 'none' || style.visibility === 'hidden' || +style.opacity === 0
          || n.getAttribute('opacity') === '0') { return false; }
    }
    return true;
  }
  function probe() {
    var out = {errors: window.__errors, live: document.querySelectorAll('figure.vl.live').length,
               figures: document.querySelectorAll('figure.vl').length,
               static: document.querySelectorAll('figure.vl[data-static]').length, charts: {}};
    document.querySelectorAll('[data-chart]').forEach(function (panel) {
      var chart = panel.querySelector('.chart');
      var svgs = chart ? Array.prototype.slice.call(chart.querySelectorAll('svg')).filter(
        function (svg) { return visible(svg) && !(svg.parentNode.closest && svg.parentNode.closest('svg')); }) : [];
      var box = chart ? chart.getBoundingClientRect() : {width: 0, height: 0};
      var overlaps = [], marks = 0;
      svgs.forEach(function (svg) {
        marks += svg.querySelectorAll('.mark, g.role-mark:not(.role-axis-label):not(.role-legend-label) > path, '
          + 'g.role-mark > rect, g.role-mark > line, g.role-mark > text').length;
        var texts = Array.prototype.slice.call(svg.querySelectorAll('text')).filter(function (t) {
          return visible(t) && t.textContent.trim() !== ''; });
        var boxes = texts.map(function (t) { return t.getBoundingClientRect(); });
        for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
          var a = boxes[i], b = boxes[j];
          var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1) overlaps.push(texts[i].textContent + ' | ' + texts[j].textContent);
        }
      });
      out.charts[panel.getAttribute('data-chart')] = {
        svgs: svgs.length, marks: marks,
        width: box.width, height: box.height, noData: !!panel.querySelector('.no-data'),
        overlaps: overlaps};
    });
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  var views = window.reportViews || {};
  Promise.all(views.pending || []).then(function () { setTimeout(probe, 50); }, probe);
})();</script>"""


def _chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip(
            "Debian's chromium is not installed here (apt-get install chromium; .ci/run does)"
        )
    return browser


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def report_path(built) -> Path:
    settings, build = built
    assert build.report_path == str(settings.report_path), build.describe()
    assert f"KPI report:       {settings.report_path}" in build.describe()
    assert settings.report_path == settings.serving_path.parent / "serving" / "report.html"
    return settings.report_path


def _in_browser(report_path: Path, work: Path, name: str, script: str) -> dict:
    """Open the report in headless Chromium with ``script`` (which writes its findings as
    JSON into <pre id="probe">) after the page; the findings, and the console lines."""
    page = work / f"report_{name}.html"
    html = report_path.read_text(encoding="utf-8")
    page.write_text(html.replace("<head>", "<head>" + HEAD_PROBE, 1).removesuffix("</body></html>")
                    + script + "</body></html>", encoding="utf-8")
    done = _run_chromium(_chromium(), work / f"profile_{name}", "--enable-logging=stderr",
                         "--v=0", "--window-size=1400,1000", "--virtual-time-budget=20000",
                         "--dump-dom", page.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, "the probe did not run: " + done.stderr[-2000:]
    data = json.loads(html_lib.unescape(match.group(1)))
    data["console"] = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return data


@pytest.fixture(scope="module")
def probe(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What the browser saw: the probe's JSON and the console lines."""
    return _in_browser(report_path, tmp_path_factory.mktemp("report_browser"), "probe",
                       BODY_PROBE)


def test_the_demo_report_has_every_chart_and_no_error(report_path: Path) -> None:
    html = report_path.read_text(encoding="utf-8")
    for key in PANEL_KEYS:
        assert f'data-chart="{key}"' in html, key
    assert 'class="chart no-data' not in html, (
        "the demo data has every source: no chart may be empty"
    )
    assert "Could not draw" not in html
    # offline, one file: no script or style is loaded from anywhere
    assert not re.search(r'<script[^>]* src=', html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert report_path.stat().st_size < 3_000_000  # ~0.9 MB of it vega-embed's bundle


def _report_month(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date, bool]:
    """(the report's month, the as-of month, whether the as-of month is complete): the
    last complete month as of the published as-of date."""
    as_of = dt.date.fromisoformat(con.execute(
        "select value from ops.build_info where key = 'as_of_date'").fetchone()[0][:10])
    first = as_of.replace(day=1)
    complete = (as_of + dt.timedelta(days=1)).day == 1
    return (first if complete else (first - dt.timedelta(days=1)).replace(day=1)), first, complete


def test_the_headline_numbers_are_the_marts_numbers(built, report_path: Path) -> None:
    """The tiles and the scorecard show one period: the last complete month as of the
    published as-of date (and the last complete quarter), the month to date apart."""
    settings, _ = built
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        month, first, complete = _report_month(con)
        index = month.year * 12 + month.month - 1  # months since January of year 0
        last = index - (index + 1) % 3  # the last month of the last complete quarter
        quarter = dt.date((last - 2) // 12, (last - 2) % 12 + 1, 1)
        mrr_end, arr_end, customers = con.execute(
            "select mrr_end, arr_end, customers_end from marts.saas_metrics_monthly "
            "where month = ?", [month]).fetchone()
        shown = con.execute(
            "select count(*) from marts.kpi_scorecard where actual is not null and ("
            "(grain = 'month' and period_start = ?) or (grain = 'quarter' and period_start = ?)"
            " or (grain = 'month' and period_start = ? and not ?))",
            [month, quarter, first, complete]).fetchone()[0]
    finally:
        con.close()
    html = report_path.read_text(encoding="utf-8")
    tiles = dict(
        re.findall(
            r'data-tile="([^"]+)"><div class="label">.*?<div class="value">([^<]+)</div>', html
        )
    )
    assert tiles["MRR"] == fmt.money(mrr_end) and tiles["ARR"] == fmt.money(arr_end)
    assert tiles["Customers"] == f"{customers:,}"
    assert arr_end == pytest.approx(12 * mrr_end)
    # one table row per target of the period with an actual, and of the month to date
    assert html.count('<td><span class="pill ') == shown


def test_in_a_browser_every_chart_is_drawn_without_script_errors(probe: dict) -> None:
    assert probe["errors"] == []
    # every Vega-Lite figure was drawn live by vega-embed (its static SVG then hidden)
    assert probe["figures"] >= 15 and probe["live"] == probe["figures"] - probe["static"] > 10
    assert probe["static"] >= 6  # the tiles' sparklines: static SVG only
    assert not [line for line in probe["console"] if "Uncaught" in line or "rror" in line], probe[
        "console"
    ]
    charts = probe["charts"]
    assert sorted(charts) == sorted(PANEL_KEYS)
    for key, chart in charts.items():
        assert not chart["noData"], key
        if key == "scorecard":  # a table with CSS bars, no chart
            assert chart["height"] > 100, chart
            continue
        assert chart["svgs"] >= 1 and chart["marks"] >= 1, (key, chart)
        assert chart["width"] > 200 and chart["height"] > 100, (key, chart)  # really laid out
    # the demo build: 240 days from 2024-01-01, so 8 months (9 with the as-of month)
    assert (
        charts["customer-cohorts"]["marks"] >= 8 * 9 / 2
    )  # a cell per cohort and month: a triangle
    # MRR bars, a net tick a month, and its non-zero movements (a zero draws no bar)
    assert charts["mrr"]["marks"] >= 8 + 8 + 8 * 2
    assert charts["buying-trend"]["svgs"] == 3  # one small multiple per demo segment


# After the charts: the filter bar's segments, then, with one segment chosen, what the MRR
# chart draws (each bar's accessible name: "month | series | value").
FILTER_PROBE = """<script>(function () {
  function labels(chart) {
    var fig = document.querySelector('#chart-' + chart + ' figure.vl');
    return Array.prototype.map.call(
      fig.querySelectorAll('.vl-live [aria-label*=" | "]'),
      function (el) { return el.getAttribute('aria-label'); });
  }
  var views = window.reportViews || {};
  Promise.all(views.pending || []).then(function () {
    var out = {errors: window.__errors, bar: !document.getElementById('filters').hidden,
               segments: Array.prototype.map.call(
                 document.querySelectorAll('#filter-segment option'),
                 function (o) { return o.value; }),
               all: labels('mrr'), all_churn: labels('churn'), all_qr: labels('quick-ratio'),
               all_bridge: labels('mrr-bridge')};
    return window.reportFilter('segment', 'enterprise').then(function () {
      out.enterprise = labels('mrr');
      out.enterprise_churn = labels('churn');
      out.enterprise_qr = labels('quick-ratio');
      out.enterprise_bridge = labels('mrr-bridge');
      var pre = document.createElement('pre');
      pre.id = 'probe';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    });
  });
})();</script>"""


@pytest.fixture(scope="module")
def filtered(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The MRR, churn, quick ratio and MRR bridge charts' marks with every segment, then
    with "enterprise" chosen."""
    return _in_browser(report_path, tmp_path_factory.mktemp("report_filter"), "filter",
                       FILTER_PROBE)


def _bars(labels: list[str]) -> dict[str, float]:
    """'Jan 24 | MRR | 1234.5' -> {'Jan 24': 1234.5} (the MRR chart's bars)."""
    out = {}
    for label in labels:
        month, series, value = (part.strip() for part in label.split(" | "))
        if series == "MRR":
            out[month] = float(value)
    return out


def test_the_segment_filter_shows_that_segments_numbers(built, filtered: dict) -> None:
    """In a browser, choosing a segment redraws the MRR chart with that segment's MRR from
    marts.mrr_movements_monthly; "All" (and the static SVG) is every segment's."""
    settings, _ = built
    seen = filtered
    assert seen["errors"] == [] and seen["bar"]
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        segments = [r[0] for r in con.execute(
            "select distinct segment from marts.mrr_movements_monthly order by 1").fetchall()]
        total = dict(con.execute(
            "select month, mrr_end from marts.saas_metrics_monthly").fetchall())
        enterprise = dict(con.execute(
            "select month, sum(mrr_end) from marts.mrr_movements_monthly "
            "where segment = 'enterprise' group by month").fetchall())
    finally:
        con.close()
    assert seen["segments"] == ["All", *segments] and "enterprise" in segments
    every, chosen = _bars(seen["all"]), _bars(seen["enterprise"])
    assert len(every) == len(total) and len(chosen) == len(enterprise) >= 6
    for month, value in total.items():
        assert every[fmt.month_tick(month)] == pytest.approx(value, rel=1e-9)
    for month, value in enterprise.items():
        assert chosen[fmt.month_tick(month)] == pytest.approx(value, rel=1e-9)
    assert chosen != every


def test_the_mrr_bridge_shows_the_chosen_segments_bridge(built, filtered: dict) -> None:
    """The bridge of the report's month, with every segment and with "enterprise": each bar
    is that month's sum of marts.mrr_movements_monthly's rows (losses below zero)."""
    settings, _ = built
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        month = con.execute("select max(month) from marts.saas_metrics_monthly "
                            "where month < date_trunc('month', (select cast(value as date) "
                            "from ops.build_info where key = 'as_of_date'))").fetchone()[0]
        sums = "sum(mrr_start), sum(new_mrr), sum(expansion_mrr), sum(reactivation_mrr), " \
               "-sum(contraction_mrr), -sum(churned_mrr), sum(mrr_end)"
        every = con.execute(f"select {sums} from marts.mrr_movements_monthly where month = ?",
                            [month]).fetchone()
        enterprise = con.execute(f"select {sums} from marts.mrr_movements_monthly "
                                 "where month = ? and segment = 'enterprise'", [month]).fetchone()
    finally:
        con.close()
    steps = ("Start", "New", "Expansion", "Reactivation", "Contraction", "Churn", "End")

    def bars(labels: list[str]) -> dict[str, float]:
        return {step: float(value) for step, value, *_ in
                (label.split(" | ") for label in labels)}

    for seen, want in ((filtered["all_bridge"], every), (filtered["enterprise_bridge"], enterprise)):
        expected = {step: float(v) for step, v in zip(steps, want, strict=True)
                    if v or step in ("Start", "End")}
        assert bars(seen) == pytest.approx(expected, rel=1e-9)
    assert bars(filtered["enterprise_bridge"]) != bars(filtered["all_bridge"])


def test_no_two_labels_overlap_in_any_chart(probe: dict) -> None:
    overlapping = {k: c["overlaps"][:5] for k, c in probe["charts"].items() if c["overlaps"]}
    assert overlapping == {}


def test_a_screenshot_of_the_report(report_path: Path, tmp_path: Path) -> None:
    browser = _chromium()
    out = PROJECT_ROOT / "data" / "screenshots" / "kpi_report.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    _run_chromium(
        browser,
        tmp_path / "profile",
        "--window-size=1400,2200",
        f"--screenshot={out}",
        report_path.as_uri(),
    )
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a drawn page, not a blank one


def test_the_dagster_ui_gets_the_key_charts(built) -> None:
    """The asset's metadata: numbers (plotted over runs), small tables inline, charts as SVG
    images; every mart a chart reads is observed with its key chart."""
    from dagster_project.definitions import build_definitions
    from dagster_project.defs.reports.kpi_report import KPI_REPORT_KEY

    settings, _ = built
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [defs.resolve_assets_def(KPI_REPORT_KEY)], instance=instance, resources=defs.resources
        )
    assert result.success
    meta = result.asset_materializations_for_node("serving__kpi_report")[0].metadata
    assert meta["report"].value == str(settings.report_path)
    assert meta["charts_drawn"].value == len(PANEL_KEYS)
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        mrr_end = con.execute(
            "select mrr_end from marts.saas_metrics_monthly where month = ?",
            [_report_month(con)[0]]).fetchone()[0]
    finally:
        con.close()
    assert meta["mrr"].value == mrr_end  # unrounded, of the report's month
    assert (
        len(meta["headline"].value) < 1000 and "| MRR |" in meta["headline"].value
    )  # shown inline
    assert len(meta["mrr_last_12_months"].value) < 1000
    observed = {
        tuple(
            e.event_specific_data.asset_observation.asset_key.path
        ): e.event_specific_data.asset_observation.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    }
    assert ("marts", "saas_metrics_monthly") in observed and ("marts", "kpi_scorecard") in observed
    chart = observed[("marts", "saas_metrics_monthly")]["key chart"].value
    images = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", chart)
    assert len(images) == 2  # MRR at month end, and the monthly waterfall
    svg = ET.fromstring(base64.b64decode(images[1]))
    # Vega draws each bar as a path: five movements and a net tick a month, at least
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}path")) > 6 * 6


# tile key -> the registry KPI it shows
TILE_KPIS = {"mrr": "mrr", "arr": "arr", "customers": "customers",
             "net_revenue_retention": "net_revenue_retention",
             "logo_churn_rate": "logo_churn_rate", "quick_ratio": "quick_ratio", "nps": "nps",
             "stickiness": "dau_mau"}


def test_each_headline_is_its_kpi_for_the_reports_month(built) -> None:
    """One definition per KPI: every headline tile shows, unrounded, the actual that the
    scorecard takes for its KPI and the report's month (kpi_actuals, compiled from the
    semantic layer's metric definitions)."""
    from dagster_project.reports.kpi_report import render_report

    settings, _ = built
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        month = _report_month(con)[0]
        report = render_report(con)
    finally:
        con.close()
    wh = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        actuals = dict(wh.execute(
            "select kpi, actual from marts.kpi_actuals "
            "where grain = 'month' and period_start = ?", [month]).fetchall())
    finally:
        wh.close()
    shown = report.headline_values
    assert set(shown) == set(TILE_KPIS)
    for key, kpi in TILE_KPIS.items():
        assert shown[key] == pytest.approx(actuals[kpi], rel=1e-9), (key, month)
    whens = {t.key: t.when for t in report.tiles}
    assert {w.removeprefix("end of ").removesuffix(" average") for w in whens.values()} == {
        fmt.month_label(month)}


def test_every_kpi_is_named_and_defined_by_its_metric(built, report_path: Path) -> None:
    """The report's appendix holds every metric of the published semantic manifest with its
    label and description, and every KPI of the scorecard links to its metric there."""
    from html import escape

    from dagster_project.reports.report_data import load_metric_docs

    settings, _ = built
    docs = load_metric_docs(settings.semantic_manifest_path)
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        scored = {r[0] for r in con.execute("select distinct kpi from marts.kpi_scorecard").fetchall()}
    finally:
        con.close()
    html = report_path.read_text(encoding="utf-8")
    assert scored and scored <= {d.name for d in docs}
    for d in docs:
        assert (f'<tr id="metric-{d.name}"><td>{escape(d.label)}</td><td><code>{d.name}</code>'
                f"</td><td>{escape(d.description)}</td></tr>") in html, d.name
    linked = set(re.findall(r'<td><a href="#metric-([a-z0-9_]+)">', html))
    shown = {d.name for d in docs if f'<td><a href="#metric-{d.name}">{escape(d.label)}</a>' in html}
    assert linked == shown and linked <= scored and len(linked) >= 10


RANGE_PROBE = """<script>(function () {
  function labels(chart) {
    var fig = document.querySelector('#chart-' + chart + ' figure.vl');
    return Array.prototype.map.call(fig.querySelectorAll('.vl-live [aria-label]'),
      function (el) { return el.getAttribute('aria-label'); });
  }
  function state() {
    return {mrr: labels('mrr'), churn: labels('churn'),
            from: document.getElementById('range-from').value,
            to: document.getElementById('range-to').value};
  }
  function wait(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }
  var views = window.reportViews || {};
  Promise.all(views.pending || []).then(function () {
    var out = {errors: window.__errors, bar: !document.getElementById('filters').hidden,
               months: Array.prototype.map.call(
                 document.querySelectorAll('#range-from option'), function (o) { return o.value; }),
               all: state()};
    // drag across the fifth- to the third-last month on the strip, as a mouse sets the brush
    var m = out.months;
    return window.reportBrush(m[m.length - 5], m[m.length - 3])
      .then(function () { return wait(300); })
      .then(function () {
        out.brushed = state();
        return window.reportRange('', '');
      }).then(function () {
        out.cleared = state();
        var pre = document.createElement('pre');
        pre.id = 'probe';
        pre.textContent = JSON.stringify(out);
        document.body.appendChild(pre);
      });
  });
})();</script>"""


def _months_of(labels: list[str]) -> set[str]:
    """The months of a chart's marks ('Mar 25 | MRR | 1234.5', or Vega's 'Month: Mar 25; ...')."""
    out = set()
    for label in labels:
        if " | " in label:
            out.add(label.split(" | ")[0].strip())
        elif label.startswith("Month: "):
            out.add(label.split(";")[0].removeprefix("Month: ").strip())
    return out


def test_the_month_range_shows_those_months_in_every_monthly_chart(
        built, report_path: Path, tmp_path: Path) -> None:
    """In a browser, brushing three months on the range strip redraws the monthly charts
    with those months only (the MRR bars with the mart's numbers) and sets the From/To
    choices; clearing it shows every month again."""
    settings, _ = built
    seen = _in_browser(report_path, tmp_path, "range", RANGE_PROBE)
    assert seen["errors"] == [] and seen["bar"]
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        mrr = {fmt.month_tick(m): v for m, v in con.execute(
            "select month, mrr_end from marts.saas_metrics_monthly").fetchall()}
        first, last = con.execute("select strftime(min(month), '%Y-%m'), "
                                  "strftime(max(month), '%Y-%m') from marts.saas_metrics_monthly"
                                  ).fetchone()
    finally:
        con.close()
    picked = seen["months"][-5:-2]
    chosen = {fmt.month_tick(dt.date.fromisoformat(m + "-01")) for m in picked}
    assert seen["months"][0] == first and seen["months"][-1] == last
    assert (seen["all"]["from"], seen["all"]["to"]) == (first, last)
    def bars(state: dict) -> dict[str, float]:
        return _bars([label for label in state["mrr"] if " | " in label])

    assert set(bars(seen["all"])) == set(mrr)
    assert (seen["brushed"]["from"], seen["brushed"]["to"]) == (picked[0], picked[-1])
    brushed = bars(seen["brushed"])
    assert set(brushed) == chosen
    for month, value in brushed.items():
        assert value == pytest.approx(mrr[month], rel=1e-9)
    assert _months_of(seen["brushed"]["churn"]) == chosen
    assert _months_of(seen["all"]["churn"]) > chosen  # every month, unbrushed
    assert bars(seen["cleared"]) == pytest.approx(bars(seen["all"]), rel=1e-12)
    assert (seen["cleared"]["from"], seen["cleared"]["to"]) == (first, last)



def _rate_points(labels: list[str], series: str) -> dict[str, float]:
    """'Mar 25 | Logo churn rate | 0.0218' -> {'Mar 25': 0.0218} for one line."""
    out = {}
    for label in labels:
        month, name, value = (part.strip() for part in label.split(" | "))
        if name == series:
            out[month] = float(value)
    return out


def test_the_segment_filter_shows_that_segments_churn_by_the_semantic_layer(
        built, filtered: dict) -> None:
    """Choosing a segment redraws the churn rates and the quick ratio with that segment's own
    rates: those the semantic layer (MetricFlow, the one definition of each KPI) gives for
    the segment, month by month; with every segment, saas_metrics_monthly's rates."""
    from dagster_project.semantic import SemanticLayer

    settings, _ = built
    seen = {"errors": filtered["errors"], "all": filtered["all_churn"],
            "enterprise": filtered["enterprise_churn"]}
    assert seen["errors"] == []
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        published = con.execute("select month, logo_churn_rate, net_mrr_churn_rate, quick_ratio "
                                "from marts.saas_metrics_monthly").fetchall()
    finally:
        con.close()
    with SemanticLayer(settings.serving_path, settings.semantic_manifest_path) as layer:
        by_segment = layer.query(["logo_churn_rate", "net_mrr_churn_rate", "quick_ratio"],
                                 by=["segment"]).rows
    shown = {name: _rate_points(seen["all"], name)
             for name in ("Logo churn rate", "Net MRR churn rate")}
    assert len(shown["Logo churn rate"]) >= 3
    shown["Quick ratio"] = _rate_points(filtered["all_qr"], "Quick ratio")
    assert len(shown["Quick ratio"]) >= 3
    for month, logo, net, quick in published:
        tick = fmt.month_tick(month)
        if tick in shown["Logo churn rate"]:
            assert shown["Logo churn rate"][tick] == pytest.approx(logo, rel=1e-9)
            assert shown["Net MRR churn rate"][tick] == pytest.approx(net, rel=1e-9, abs=1e-12)
        if tick in shown["Quick ratio"]:
            assert shown["Quick ratio"][tick] == pytest.approx(quick, rel=1e-9)
    chosen = {name: _rate_points(seen["enterprise"], name)
              for name in ("Logo churn rate", "Net MRR churn rate")}
    expected = {fmt.month_tick(dt.date.fromisoformat(str(m)[:10])): (logo, net, quick)
                for m, segment, logo, net, quick in by_segment if segment == "enterprise"}
    assert chosen["Logo churn rate"] and chosen != shown
    for tick, value in chosen["Logo churn rate"].items():
        assert value == pytest.approx(expected[tick][0], rel=1e-9, abs=1e-12)
    for tick, value in chosen["Net MRR churn rate"].items():
        assert value == pytest.approx(expected[tick][1], rel=1e-9, abs=1e-12)
    for tick, value in _rate_points(filtered["enterprise_qr"], "Quick ratio").items():
        assert value == pytest.approx(expected[tick][2], rel=1e-9)
    # a month the chart leaves out is one the semantic layer has no rate for either
    for tick, (logo, _, _) in expected.items():
        if tick not in chosen["Logo churn rate"] and tick in shown["Logo churn rate"]:
            assert logo is None
