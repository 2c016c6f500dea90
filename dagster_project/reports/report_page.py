"""The KPI report's page: one HTML file with its CSS, the panels, and a definitions
appendix, so that it opens offline and every chart's definition is one click away.

Definitions are written here, in our words, and docs/METRICS.md is generated from them
(``python -m dagster_project.metrics_doc``); each names its section there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from dagster_project.reports.charts import Figure, javascript_bundle

# anchor -> (term, definition, docs/METRICS.md section). {placeholders} come from metric settings.
DEFINITIONS: dict[str, tuple[str, str, str]] = {
    "def-scorecard": (
        "KPI scorecard",
        (
            "One row per target in seeds/kpi_targets.csv. Attainment = actual / target (target / "
            "actual when lower is better). On track: attainment of 100% or more; at risk: short "
            "of it by no more than the target's tolerance; off track: further below; no data: no "
            "actual for the period. Attainment is shown as n/m (not meaningful) when the actual "
            "and the target lie on either side of zero (a net MRR churn of +0.4% against a "
            "target of −1%): the status then compares them directly; above 200% it is shown as "
            "> 200%. Shown: the report's period (the last complete month and the last complete "
            "quarter), with the month to date apart and lighter, not final and not counted."
        ),
        "KPI scorecard",
    ),
    "def-mrr": (
        "MRR (monthly recurring revenue)",
        (
            "Per subscription, max(unit_amount × quantity − discount, 0) / months of its billing "
            "period (1, 3 or 12), converted at the rate in force on its event's date; a "
            "customer's MRR is the sum over its subscriptions at the end of the day. Month-end "
            "MRR is taken at the end of the month's last day, or of the as-of date for the "
            "current month."
        ),
        "Revenue: MRR and its movements",
    ),
    "def-mrr-movements": (
        "MRR movements and the bridge",
        (
            "Each day a customer's MRR changes is one movement: new (never active before), "
            "reactivation (active again after 0), expansion (up), contraction (down) or churn (to"
            " 0). A month's movements are the sums of its daily ones, and MRR at the end = MRR at"
            " the start + new + expansion + reactivation − contraction − churn, to the cent. Net "
            "new MRR = end − start."
        ),
        "Revenue: MRR and its movements",
    ),
    "def-arr": (
        "ARR (annual recurring revenue)",
        ("12 × MRR at the end of the month."),
        "Revenue: MRR and its movements",
    ),
    "def-mrr-by-plan": (
        "MRR by plan",
        (
            "Each subscription counts under the plan of its state at the end of the month (of "
            "the as-of date for the current month), with that state's MRR; the plans' tier and "
            "product come from seeds/plans.csv ('unknown' for a plan it does not list, or a "
            "state without a plan). Summed over the plans it is the month-end MRR, to the cent."
        ),
        "Revenue: MRR and its movements",
    ),
    "def-customers": (
        "Active, new and churned customers",
        (
            "A customer is active when its MRR is above 0. Active customers are counted at the "
            "end of the month; new, reactivated and churned customers count movements (a customer"
            " new and churned in one month counts in both)."
        ),
        "Revenue: MRR and its movements; Conventions",
    ),
    "def-churn": (
        "Logo churn and net MRR churn",
        (
            "Logo churn rate = churned customers / customers active at the start of the month (it"
            " counts movements, so it can exceed 100%). Net MRR churn rate = (churned + "
            "contraction − expansion − reactivation MRR) / MRR at the start; negative when "
            "expansion outgrows losses."
        ),
        "Churn and retention",
    ),
    "def-nrr": (
        "Net and gross revenue retention (NRR, GRR)",
        (
            "NRR = the MRR at the end of the month of the customers active at its start / MRR at "
            "the start. GRR = the same with each customer's end MRR capped at its start MRR, so "
            "it never exceeds 100%."
        ),
        "Churn and retention",
    ),
    "def-quick-ratio": (
        "SaaS quick ratio",
        (
            "(new + expansion + reactivation MRR) / (churned + contraction MRR). Above 4 is "
            "healthy, 2 to 4 is growing with room to cut losses, below 2 churn is eating growth."
        ),
        "Churn and retention",
    ),
    "def-customer-cohorts": (
        "Customer cohorts",
        (
            "A customer's cohort is the month of its new movement. At month k (0 = the cohort "
            "month), logo retention = cohort customers active at the end of month cohort + k / "
            "cohort customers."
        ),
        "Customer cohorts",
    ),
    "def-cac": (
        "CAC (customer acquisition cost)",
        ("Blended CAC = all sales and marketing spend in the month / new customers of the month."),
        "Unit economics",
    ),
    "def-ltv-cac": (
        "LTV and LTV:CAC",
        (
            "LTV = ARPA × gross margin ({gross_margin}) / the mean monthly logo churn rate over "
            "the trailing {ltv_churn_window_months} months; LTV:CAC = LTV / CAC. A common rule of"
            " thumb asks for 3× or more."
        ),
        "Unit economics",
    ),
    "def-payback": (
        "CAC payback",
        (
            "Months of gross margin a new customer needs to repay its CAC: CAC / ((new MRR / new "
            "customers) × gross margin). Under 12 months is the usual bar."
        ),
        "Unit economics",
    ),
    "def-active-users": (
        "DAU, WAU, MAU",
        (
            "A user is active on a day with at least one product event carrying its user_id "
            "(events named in passive_events do not count). DAU = active users that day; WAU and "
            "MAU = distinct active users in the 7 and 30 days ending that day."
        ),
        "Usage",
    ),
    "def-stickiness": (
        "Stickiness (DAU/MAU)",
        (
            "DAU / MAU of each day: the share of the month's active users who come back on a "
            "given day. The monthly KPI is the mean of the daily values."
        ),
        "Usage",
    ),
    "def-activation": (
        "Activation rate",
        (
            "Users of a sign-up month who perform the activation event ({activation_event}) "
            "within {activation_window_days} days of signing up / users who signed up that month."
        ),
        "Usage",
    ),
    "def-funnel": (
        "AARRR funnel",
        (
            "Per cohort month, the actors (users, and anonymous visitors by anonymous_id) who "
            "reach each step of seeds/funnel_steps.csv in order within {funnel_window_days} days "
            "of entering; conversion = users at a step / users at the step before."
        ),
        "Usage",
    ),
    "def-user-cohorts": (
        "User cohorts",
        (
            "A user's cohort is the month of signing up; at month k, user retention = cohort "
            "users active at least once in month cohort + k / cohort users."
        ),
        "Usage",
    ),
    "def-nps": (
        "NPS (net promoter score)",
        (
            "100 × (promoters − detractors) / responses over the month's NPS responses: promoters"
            " score 9–10, passives 7–8, detractors 0–6. From −100 to 100."
        ),
        "Satisfaction",
    ),
    "def-revenue-mix": (
        "Revenue and revenue mix",
        (
            "Revenue = paid invoices, in the month issued, in the reporting currency; the mix "
            "splits it by revenue type (subscription, usage, services, one-time, other)."
        ),
        "Revenue structure and sales",
    ),
    "def-tiers": (
        "Customer tiers (Pareto)",
        (
            "Customers ranked by revenue over the trailing 12 months: tier A are those making the"
            " first {tier_a_share_pct} of cumulative revenue, B the next {tier_b_share_pct}, C "
            "the rest."
        ),
        "Revenue structure and sales",
    ),
    "def-bookings": (
        "Bookings vs revenue",
        (
            "Bookings = total contract value of the contracts signed in the month; revenue = paid"
            " invoices issued in the month."
        ),
        "Revenue structure and sales",
    ),
    "def-attainment": (
        "Quota attainment",
        (
            "Per sales rep and quarter, bookings (total contract value) / quota from "
            "seeds/sales_quotas.csv."
        ),
        "Revenue structure and sales",
    ),
    "def-buying-trend": (
        "Buying trend and forecast",
        (
            "Per customer segment, monthly revenue (complete months), its simple exponential "
            "smoothing (alpha {smoothing_alpha}) and a flat forecast for the next "
            "{forecast_months} months with an approximate 95% band (± 1.96 × the one-step error, "
            "widening with the horizon)."
        ),
        "Revenue structure and sales",
    ),
}

DEFAULT_PARAMS: dict[str, object] = {
    "gross_margin": 0.8,
    "ltv_churn_window_months": 6,
    "activation_event": "activated",
    "activation_window_days": 7,
    "funnel_window_days": 30,
    "tier_a_share": 0.8,
    "tier_b_share": 0.15,
    "smoothing_alpha": 0.5,
    "forecast_months": 3,
}


def definition_text(anchor: str, params: Mapping[str, object] | None = None) -> str:
    merged = {**DEFAULT_PARAMS, **(params or {})}
    merged["tier_a_share_pct"] = f"{float(merged['tier_a_share']) * 100:.0f}%"  # type: ignore[arg-type]
    merged["tier_b_share_pct"] = f"{float(merged['tier_b_share']) * 100:.0f}%"  # type: ignore[arg-type]
    _, text, _ = DEFINITIONS[anchor]
    return text.format(**merged)


@dataclass
class Panel:
    """One chart of the report: a title, units, a one-line definition with its link, and
    either SVG (``svgs``) or the reason there is nothing to show (``empty``)."""

    key: str
    section: str
    title: str
    units: str
    definition: str
    anchors: Sequence[str]
    size: str = "half"  # 'full', 'half' or 'third'
    svgs: list[Figure | str] = field(default_factory=list)  # charts (markup: tables, bars)
    html: str | None = None  # extra markup (the scorecard table) instead of / beside svgs
    empty: str | None = None  # "no data" reason
    error: str | None = None  # the panel could not be drawn (a bug, never user data)
    note: str | None = None
    sources: Sequence[str] = ()  # marts read (for the Dagster UI metadata)

    @property
    def has_chart(self) -> bool:
        return not self.empty and not self.error and bool(self.svgs or self.html)


@dataclass(frozen=True)
class MetricDoc:
    """A metric of the semantic layer: its name, label and description."""

    name: str
    label: str
    description: str


@dataclass
class Tile:
    label: str
    value: str
    when: str
    delta: str | None = None
    delta_good: bool | None = None  # True green, False red, None grey
    spark: Figure | str | None = None
    anchor: str | None = None
    key: str = ""  # metadata name of the unrounded value, e.g. "mrr"
    raw: float | None = None  # the unrounded value


SECTIONS = [
    ("scorecard", "Scorecard"),
    ("revenue", "Revenue"),
    ("retention", "Retention and churn"),
    ("unit-economics", "Unit economics"),
    ("product", "Product usage and satisfaction"),
    ("sales", "Revenue structure and sales"),
]

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f3f5f8; --card:#fff;
  --good:#2e7d32; --bad:#c62828; --warn:#b37c00; --primary:#1f5fa8; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--primary); }
.top { background:#102a43; color:#fff; padding:22px 32px 14px; }
.top h1 { margin:0; font-size:24px; font-weight:650; letter-spacing:.2px; }
.top .meta { margin:4px 0 12px; color:#bcccdc; font-size:13px; }
.top .meta b { color:#fff; font-weight:600; }
.top nav a { color:#d9e2ec; text-decoration:none; margin-right:18px; font-size:13px; }
.top nav a:hover { color:#fff; text-decoration:underline; }
main { padding:20px 32px 40px; max-width:1480px; margin:0 auto; }
h2 { font-size:18px; margin:30px 0 12px; font-weight:650; }
.tiles { display:grid; grid-template-columns:repeat(4, 1fr); gap:14px; }
.tile { background:var(--card); border-radius:10px; padding:14px 16px 10px;
  box-shadow:0 1px 2px rgba(16,42,67,.08); border-top:3px solid var(--primary);
  display:flex; flex-direction:column; }
.tile .label { color:var(--muted); font-size:12.5px; text-transform:uppercase; letter-spacing:.5px; }
.tile .label a { color:inherit; text-decoration:none; }
.tile .value { font-size:30px; font-weight:650; margin:2px 0 0; font-variant-numeric:tabular-nums; }
.tile .row { display:flex; justify-content:space-between; align-items:flex-end; gap:8px; }
.tile .delta { font-size:13px; font-weight:600; }
.tile .when { color:var(--muted); font-size:12px; }
.good { color:var(--good); } .bad { color:var(--bad); } .flat { color:var(--muted); }
.grid { display:grid; grid-template-columns:repeat(6, 1fr); gap:16px; }
.panel { background:var(--card); border-radius:10px; padding:14px 16px 10px;
  box-shadow:0 1px 2px rgba(16,42,67,.08); grid-column:span 3; min-width:0; break-inside:avoid; }
.panel.full { grid-column:span 6; } .panel.third { grid-column:span 2; }
.panel h3 { margin:0; font-size:15.5px; font-weight:650; }
.panel .units { margin:1px 0 6px; color:var(--muted); font-size:12.5px; }
.panel .chart svg { width:100%; height:auto; display:block; }
figure.vl { margin:0; min-width:0; }
.filters { position:sticky; top:0; z-index:5; display:flex; flex-wrap:wrap; gap:6px 18px;
  align-items:center; background:var(--card); border-radius:10px; padding:8px 16px; margin:18px 0 0;
  box-shadow:0 1px 3px rgba(16,42,67,.15); font-size:13px; }
.filters[hidden] { display:none; }
.filters .what { color:var(--muted); }
.filters label { display:flex; gap:6px; align-items:center; font-weight:600; }
.filters select { font:inherit; font-weight:normal; padding:2px 4px; }
.filters .months { display:flex; gap:6px 12px; align-items:center; flex-wrap:wrap; }
.filters .months figure.vl { width:300px; cursor:crosshair; }
.filters .months figure.vl .vl-live svg { width:300px; height:auto; }
figure.vl .vl-live { display:none; }
figure.vl.live .vl-static { display:none; } figure.vl.live .vl-live { display:block; }
figure.vl .vl-live svg { width:100%; height:auto; display:block; }
.tile figure.vl svg { width:120px; height:34px; }
#vg-tooltip-element { font:12px system-ui, sans-serif; }
.panel .chart.multi { display:grid; gap:4px; }
.panel .chart.small-multiples { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:10px; }
.panel .def { margin:6px 0 0; color:var(--muted); font-size:12.5px; }
.panel .def a { white-space:nowrap; font-weight:600; text-decoration:none; }
.panel .note { margin:4px 0 0; color:var(--muted); font-size:12px; font-style:italic; }
.no-data { display:flex; align-items:center; justify-content:center; min-height:180px;
  border:1px dashed #cbd2d9; border-radius:8px; color:var(--muted); text-align:center; padding:16px;
  background:repeating-linear-gradient(135deg, #fafbfc, #fafbfc 8px, #f3f5f8 8px, #f3f5f8 16px); }
.no-data strong { display:block; color:var(--ink); font-size:15px; margin-bottom:4px; }
.no-data.error strong { color:var(--bad); }
.scorecards { display:grid; grid-template-columns:repeat(auto-fit, minmax(560px, 1fr)); gap:14px 28px; }
table.scorecard { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; font-size:13.5px; }
table.scorecard caption { text-align:left; font-weight:650; padding:4px 0 6px; }
table.scorecard .period { color:var(--muted); font-size:11.5px; white-space:nowrap; }
table.scorecard.mtd { opacity:.62; }
table.scorecard td a { color:inherit; text-decoration:none; border-bottom:1px dotted var(--muted); }
table.metrics { border-collapse:collapse; font-size:13px; margin:6px 0 18px; }
table.metrics th { text-align:left; font-size:12px; color:var(--muted); font-weight:600;
  border-bottom:1px solid var(--line); padding:4px 8px; }
table.metrics td { border-bottom:1px solid var(--line); padding:4px 8px; vertical-align:top; }
table.metrics td:first-child { white-space:nowrap; font-weight:600; }
table.scorecard th { text-align:left; font-size:12px; color:var(--muted); font-weight:600;
  border-bottom:1px solid var(--line); padding:5px 6px; text-transform:uppercase; letter-spacing:.4px; }
table.scorecard td { border-bottom:1px solid var(--line); padding:5px 6px; vertical-align:middle; }
table.scorecard td.num, table.scorecard th.num { text-align:right; white-space:nowrap; }
table.scorecard td:first-child { min-width:150px; }
table.scorecard td svg { display:block; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:650;
  color:#fff; white-space:nowrap; }
.pill.on_track { background:var(--good); } .pill.at_risk { background:#e6a100; color:#1f2933; }
.pill.off_track { background:var(--bad); } .pill.no_data { background:#9aa5b1; }
.waiting { color:var(--muted); font-size:12.5px; margin:10px 0 0; }
.summary { display:flex; gap:10px; align-items:center; margin:2px 0 10px; flex-wrap:wrap; }
.status-bar { flex:1 1 260px; max-width:520px; display:flex; height:24px; border-radius:4px;
  overflow:hidden; font-size:12px; font-weight:600; }
.status-bar span { display:flex; align-items:center; justify-content:center; min-width:0;
  overflow:hidden; white-space:nowrap; text-overflow:clip; color:#fff; border-right:1px solid #fff; }
.status-bar .on_track { background:var(--good); } .status-bar .at_risk { background:#e6a100; color:#1f2933; }
.status-bar .off_track { background:var(--bad); } .status-bar .no_data { background:#9aa5b1; color:#1f2933; }
.bullet { position:relative; display:block; width:100%; min-width:40px; max-width:96px; height:8px; background:#eef1f4; border-radius:2px; }
.bullet .fill { position:absolute; left:0; top:0; bottom:0; border-radius:2px; }
.bullet .tick { position:absolute; left:66.67%; top:-4px; bottom:-4px; width:1.5px; background:#1f2933; }
.definitions dl { display:grid; grid-template-columns:minmax(180px, 260px) 1fr; gap:8px 20px;
  background:var(--card); border-radius:10px; padding:16px 20px; margin:0; }
.definitions dt { font-weight:650; }
.definitions dd { margin:0; color:#334e68; }
.definitions dd .src { color:var(--muted); font-size:12px; }
.definitions :target { background:#fff7d6; }
footer { color:var(--muted); font-size:12px; padding:0 32px 30px; max-width:1480px; margin:0 auto; }
@media (max-width: 1000px) { .tiles { grid-template-columns:repeat(2, 1fr); }
  .panel, .panel.third { grid-column:span 6; } }
@media print { body { background:#fff; } .top { background:#fff; color:var(--ink); }
  .top .meta, .top nav a { color:var(--muted); } .panel, .tile { box-shadow:none; border:1px solid var(--line); } }
"""


def _panel_html(panel: Panel) -> str:
    links = " ".join(
        f'<a href="#{a}">{escape(DEFINITIONS[a][0].split(" (")[0])} ↗</a>' for a in panel.anchors
    )
    if panel.error:
        body = (
            f'<div class="chart no-data error"><div><strong>Could not draw this chart</strong>'
            f"{escape(panel.error)}</div></div>"
        )
    elif panel.empty:
        body = (
            f'<div class="chart no-data"><div><strong>No data</strong>{escape(panel.empty)}'
            "</div></div>"
        )
    else:
        cls = "chart"
        if len(panel.svgs) > 1:
            cls += " small-multiples" if panel.key == "buying-trend" else " multi"
        body = (f'<div class="{cls}">' + (panel.html or "")
                + "".join(_chart_html(c) for c in panel.svgs) + "</div>")
    note = f'<p class="note">{escape(panel.note)}</p>' if panel.note and panel.has_chart else ""
    return (
        f'<article class="panel {panel.size}" id="chart-{panel.key}" data-chart="{panel.key}">'
        f'<h3>{escape(panel.title)}</h3><p class="units">{escape(panel.units)}</p>{body}'
        f'<p class="def">{escape(panel.definition)} {links}</p>{note}</article>'
    )


def _chart_html(chart: Figure | str) -> str:
    return chart.html() if isinstance(chart, Figure) else chart


# Hands each figure's spec to vega-embed (tooltips, and the live chart replaces the static
# SVG); a figure whose spec fails keeps its SVG. Then the filter bar: one select per
# dimension that figures answer to (data-filters), with the values found in their data;
# a choice sets that signal in every such figure. Runs only where scripts do (without them
# there is no bar, and the static SVGs show every segment, region and channel).
BOOT_JS = """
(function () {
  var views = [];
  var sliced = [];  // {view, dims} of the figures the filters slice
  var ranged = [];  // views of the figures the month range filters
  var options = {};  // dimension -> {value: true}
  var months = {};  // the months of the range control ("YYYY-MM")
  var monthsBox = document.getElementById('months');
  window.reportViews = views;
  if (!window.vegaEmbed) { return; }
  function collect(node, dims) {
    if (Array.isArray(node)) { node.forEach(function (n) { collect(n, dims); }); return; }
    if (!node || typeof node !== 'object') { return; }
    if (node.data && Array.isArray(node.data.values)) {
      node.data.values.forEach(function (row) {
        dims.forEach(function (d) {
          if (row[d] !== undefined && row[d] !== null) {
            (options[d] = options[d] || {})[row[d]] = true;
          }
        });
      });
    }
    Object.keys(node).forEach(function (k) { if (k !== 'data') { collect(node[k], dims); } });
  }
  document.querySelectorAll('figure.vl').forEach(function (fig) {
    var el = fig.querySelector('script.vl-spec');
    if (!el) { return; }
    var dims = fig.dataset.filters ? fig.dataset.filters.split(' ') : [];
    var live = document.createElement('div');
    live.className = 'vl-live';
    fig.appendChild(live);
    var spec = JSON.parse(el.textContent);
    if (dims.length) { collect(spec, dims); }
    var overview = monthsBox && monthsBox.contains(fig);
    if (overview) { options.m = {}; collect(spec, ['m']); months = options.m; delete options.m; }
    if (typeof spec.width === 'number') {
      // live charts fit their panel (the static SVG scales instead)
      spec.width = 'container';
      spec.autosize = {type: 'fit-x', contains: 'padding'};
    }
    // shown before drawing: a 'container' width is measured from the visible element
    fig.classList.add('live');
    var done = vegaEmbed(live, spec, {actions: false, renderer: 'svg'})
      .then(function (result) {
        views.push(result.view);
        if (dims.length) { sliced.push({view: result.view, dims: dims}); }
        if (fig.dataset.range) { ranged.push(result.view); }
        if (overview) { brushed(result.view); }
      })
      .catch(function (error) {
        fig.classList.remove('live');
        live.remove();
        console.error('chart not drawn', error);
      });
    views.pending = (views.pending || []).concat([done]);
  });
  // Set one filter in every figure that answers to it; resolves when they are redrawn.
  window.reportFilter = function (dim, value) {
    var select = document.getElementById('filter-' + dim);
    if (select) { select.value = value; }
    return Promise.all(sliced.filter(function (s) { return s.dims.indexOf(dim) >= 0; })
      .map(function (s) { return s.view.signal(dim, value).runAsync(); }));
  };
  // Show only the months from..to ("YYYY-MM", "" for no bound) in every monthly figure.
  window.reportRange = function (from, to) {
    ['from', 'to'].forEach(function (end, k) {
      var select = document.getElementById('range-' + end);
      var chosen = [from, to][k];
      if (select) { select.value = chosen || select.options[k ? select.options.length - 1 : 0].value; }
    });
    return Promise.all(ranged.map(function (view) {
      return view.signal('range_from', from || '').signal('range_to', to || '').runAsync();
    }));
  };
  function monthOf(t) { return new Date(t).toISOString().slice(0, 7); }
  // The brush on the range strip (signal "brush", field "t") chooses the months it covers.
  function brushed(view) {
    view.addSignalListener('brush', function (name, value) {
      var span = value && value.t;
      if (span && span.length === 2) { window.reportRange(monthOf(span[0]), monthOf(span[1])); }
      else { window.reportRange('', ''); }
    });
    window.reportBrush = function (from, to) {  // the brush drawn over months from..to
      var x = view.scale('x');
      return view.signal('brush_x', [x(Date.parse(from + '-01')), x(Date.parse(to + '-15'))])
        .runAsync();
    };
  }
  var bar = document.getElementById('filters');
  var dims = Object.keys(options);
  var monthList = Object.keys(months).sort();
  if (!bar || (!dims.length && !monthList.length)) { return; }
  if (monthsBox && monthList.length) {
    ['from', 'to'].forEach(function (end, k) {
      var label = document.createElement('label');
      label.textContent = k ? 'to' : 'from';
      var select = document.createElement('select');
      select.id = 'range-' + end;
      monthList.forEach(function (m) {
        var o = document.createElement('option');
        o.value = m;
        o.textContent = new Date(m + '-01T00:00:00Z').toLocaleDateString(
          'en', {month: 'short', year: 'numeric', timeZone: 'UTC'});
        select.appendChild(o);
      });
      select.value = k ? monthList[monthList.length - 1] : monthList[0];
      select.addEventListener('change', function () {
        var from = document.getElementById('range-from').value;
        var to = document.getElementById('range-to').value;
        if (from > to) { var t = from; from = to; to = t; }
        window.reportRange(from, to);
        if (window.reportBrush) { window.reportBrush(from, to); }
      });
      label.appendChild(select);
      monthsBox.appendChild(label);
    });
  } else if (monthsBox) { monthsBox.remove(); monthsBox = null; }
  dims.forEach(function (dim) {
    var label = document.createElement('label');
    label.textContent = bar.dataset['label' + dim[0].toUpperCase() + dim.slice(1)] || dim;
    var select = document.createElement('select');
    select.id = 'filter-' + dim;
    ['All'].concat(Object.keys(options[dim]).sort()).forEach(function (v) {
      var o = document.createElement('option');
      o.value = v;
      o.textContent = v === 'All' ? 'All' : v.replace(/_/g, ' ');
      select.appendChild(o);
    });
    select.addEventListener('change', function () { window.reportFilter(dim, select.value); });
    label.appendChild(select);
    bar.insertBefore(label, monthsBox);
  });
  bar.hidden = false;
})();
"""


def _tile_html(tile: Tile) -> str:
    label = escape(tile.label)
    if tile.anchor:
        label = f'<a href="#{tile.anchor}">{label}</a>'
    cls = "flat" if tile.delta_good is None else ("good" if tile.delta_good else "bad")
    delta = f'<span class="delta {cls}">{escape(tile.delta)}</span>' if tile.delta else ""
    spark = _chart_html(tile.spark) if tile.spark else ""
    return (
        f'<div class="tile" data-tile="{escape(tile.label)}"><div class="label">{label}</div>'
        f'<div class="row"><div class="value">{escape(tile.value)}</div>{spark}</div>'
        f'{delta}<span class="when">{escape(tile.when)}</span></div>'
    )


def render_page(
    *,
    title: str,
    meta_html: str,
    tiles: Sequence[Tile],
    panels: Sequence[Panel],
    params: Mapping[str, object] | None,
    footer: str,
    metrics: Sequence[MetricDoc] = (),
    overview: Figure | None = None,
) -> str:
    """The page. ``overview``: the month range control's strip (``charts.range_overview``),
    shown in the filter bar when some chart answers to the month range."""
    nav = "".join(f'<a href="#{key}">{escape(name)}</a>' for key, name in SECTIONS)
    nav += '<a href="#definitions">Definitions</a>'
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f'<header class="top"><h1>{escape(title)}</h1><p class="meta">{meta_html}</p><nav>{nav}</nav></header>',
        "<main>",
    ]
    if tiles:
        out.append(
            '<section class="tiles" id="headlines">'
            + "".join(_tile_html(t) for t in tiles)
            + "</section>"
        )
    figures = [c for p in panels if p.has_chart for c in p.svgs if isinstance(c, Figure)]
    sliced = [p for p in panels if p.has_chart
              and any(isinstance(c, Figure) and c.filters for c in p.svgs)]
    ranged = overview is not None and any(f.ranged for f in figures)
    if sliced or ranged:
        # filled in by BOOT_JS from the charts' data (no scripts: no bar, every segment and
        # month shown)
        # the sections in the bar's line, every chart it slices in its tooltip
        names = [name for key, name in SECTIONS if any(p.section == key for p in sliced)]
        what = (f'<span class="what" title="{escape(", ".join(p.title for p in sliced))}">'
                f'Slice the charts of {escape(", ".join(names))} by</span>' if sliced else "")
        months = (
            '<span class="months" id="months"><span class="what">Months: drag across MRR, or'
            f"</span>{overview.html()}</span>" if ranged and overview is not None else "")
        out.append(
            '<div class="filters" id="filters" hidden data-label-segment="Segment" '
            'data-label-region="Region" data-label-channel="Acquisition channel" '
            'data-label-plan="Plan">'
            f"{what}{months}</div>"
        )
    for key, name in SECTIONS:
        mine = [p for p in panels if p.section == key]
        if not mine:
            continue
        out.append(f'<section id="{key}"><h2>{escape(name)}</h2><div class="grid">')
        out.extend(_panel_html(p) for p in mine)
        out.append("</div></section>")
    used = [
        a
        for a in DEFINITIONS
        if any(a in p.anchors for p in panels) or any(t.anchor == a for t in tiles)
    ]
    out.append('<section class="definitions" id="definitions"><h2>Definitions</h2><dl>')
    for anchor in used:
        term, _, source = DEFINITIONS[anchor]
        out.append(
            f'<dt id="{anchor}">{escape(term)}</dt><dd>{escape(definition_text(anchor, params))} '
            f'<span class="src">(docs/METRICS.md, {escape(source)})</span></dd>'
        )
    out.append("</dl>")
    if metrics:
        out.append(
            '<h3 id="metrics">Metric definitions</h3><p class="metrics-note">Every KPI above '
            "is one of these metrics of the semantic layer (dbt_models/models/semantic): the "
            "scorecard's actuals are compiled from them, and <code>product-metrics query</code> "
            "and BI tools read the same definitions.</p>"
            '<table class="metrics"><thead><tr><th>Metric</th><th>Name</th><th>Definition</th>'
            "</tr></thead><tbody>"
        )
        for m in metrics:
            out.append(
                f'<tr id="metric-{escape(m.name)}"><td>{escape(m.label)}</td>'
                f"<td><code>{escape(m.name)}</code></td><td>{escape(m.description)}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section></main>")
    out.append(f"<footer>{footer}</footer>")
    page = "\n".join(out)
    if 'class="vl-spec"' in page:
        page += f"\n<script>{javascript_bundle()}</script>\n<script>{BOOT_JS}</script>"
    return page + "\n</body></html>"
