"""docs/METRICS.md: what each KPI means, in one page, generated from the definitions the
KPI report shows (``reports/report_page.DEFINITIONS``) so that the report's appendix and
the docs cannot drift apart, and, last, every metric of the semantic layer with its label
and definition from the semantic manifest (the KPIs' one definition, which the scorecard
computes and the report names its KPIs by). ``python -m dagster_project.metrics_doc``
rewrites it; a unit test fails when it is out of date. Every column of every mart is defined in docs/MARTS.md;
the readings we chose where a definition left room are in docs/metrics_notes_*.md."""

from __future__ import annotations

import sys

from dagster_project.generated_docs import markdown, write_doc
from dagster_project.reports.report_page import DEFAULT_PARAMS, DEFINITIONS, definition_text
from dagster_project.semantic.doc import catalog_rows, load_manifest
from dagster_project.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "METRICS.md"

CONVENTIONS = (
    ("Money is in the reporting currency (`METRICS_REPORTING_CURRENCY`), each amount "
    "converted at the rate in force on its own day (docs/LANDING.md, \"Exchange rates\"), "
    "and published unrounded; only the report and the scorecard printer round."),
    ("Days, weeks (ISO, Monday first) and months are taken in the reporting time zone "
    "(`METRICS_REPORTING_TIMEZONE`); a month is named by its first day."),
    ("The as-of date (`METRICS_AS_OF_DATE`, else the latest day with subscription activity) "
    "ends every series: the as-of month is month to date, and nothing after it is counted."),
    ("A ratio whose denominator is 0 or unknown is NULL, never 0, infinity or NaN. Rates "
    "are fractions (0.05 = 5%) except NPS and the lead velocity rate, which are points and "
    "percent."),
    ("A customer is active on a day when its MRR at the end of that day is above 0. Counts "
    "of new, reactivated and churned customers count movements."),
    ("Customer attributes (segment, region, acquisition channel) are the current ones: the "
    "last landed customers row gives them, 'unknown' when missing."),
    ("Settings that change a definition (dbt vars, `METRICS_DBT_VARS`) are named where they "
    "act; the values below are the defaults."),
)


ORDER = ("Revenue: MRR and its movements", "Churn and retention", "Customer cohorts",
         "Unit economics", "Usage", "Satisfaction", "Growth and delivery",
         "Revenue structure and sales", "KPI scorecard")


# Definitions the report has no chart for, which the models' comments and YAML name:
# section -> [(term, text)], appended after the report's definitions of that section.
MORE: dict[str, list[tuple[str, str]]] = {
    "Conventions": [
        ("Days", ("A timestamp belongs to the day it falls on in the reporting time zone; "
         "weeks start on Monday (ISO); a month is named by its first day. The as-of day is "
         "counted whole.")),
        ("Rounding", ("Nothing in the marts is rounded: money keeps its cents and beyond, "
         "rates their full precision. Only what people read rounds: the KPI report and "
         "`product-metrics scorecard`.")),
        ("Counting", ("Customers are counted by their movements (a customer new and churned in "
         "one month counts in both), active customers at the end of a day. A landed row "
         "counts once however many identical copies landed.")),
        ("Dimensions", ("Segment, region, country and acquisition channel are a customer's "
         "current attributes (its last landed customers row), 'unknown' when missing, on "
         "every row of its history: re-segmenting a customer moves its whole history.")),
    ],
    "Revenue: MRR and its movements": [
        ("Subscription MRR at an instant t", ("A subscription's state at t is set by its "
         "latest event with effective_at on or before t (created and changed set it, "
         "canceled ends it). Its MRR is max(unit_amount × quantity − discount_amount, 0) "
         "divided by the months of its billing period, in the reporting currency at the "
         "rate of that event's day; 0 once canceled.")),
        ("Daily movement", ("For each customer and day, its MRR at the end of the day against "
         "the end of the day before: up from 0 is new (first time) or reactivation, up "
         "otherwise expansion, down to 0 churn, down otherwise contraction.")),
        ("Monthly movements", ("The sums of the daily movements of the month; start MRR + new "
         "+ expansion + reactivation − contraction − churn = end MRR, to the cent.")),
    ],
    "Revenue structure and sales": [
        ("Customer lifetime value, observed", ("Per customer: paid invoice revenue to the "
         "as-of date × gross_margin. Per segment: the mean over every customer of the "
         "segment known by the as-of date, 0 for one that has not paid yet.")),
    ],
    "Growth and delivery": [
        ("Leads and lead velocity", ("Leads per month of created_at; qualified leads are "
         "those with is_qualified (true when missing). Lead velocity rate = 100 × (qualified "
         "leads − last month's) / last month's, in percent; NULL in the first month and "
         "when last month had none.")),
        ("Referral", ("Users who performed the referral_event in the month / users active in "
         "the month.")),
        ("Releases", ("Releases per month of released_at; on time when released_at <= "
         "planned_at, on-time share over the releases that had a plan.")),
    ],
}


def _sections() -> dict[str, list[str]]:
    """Section -> anchors (a definition may name two sections: it is listed under the
    first), sections in ORDER and then any other."""
    out: dict[str, list[str]] = {}
    for anchor, (_, _, section) in DEFINITIONS.items():
        out.setdefault(section.split(";")[0].strip(), []).append(anchor)
    for section in MORE:
        out.setdefault(section, [])
    out.pop("Conventions", None)
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(ORDER))))


def _metric_catalog(manifest: dict) -> list[str]:
    return [
        "## Every metric, as the semantic layer defines it",
        "",
        ("One definition per KPI: the metrics of `dbt_models/models/semantic/_metrics.yml`, "
         "queried with `product-metrics query`. The scorecard's actuals are computed from "
         "them, and the KPI report names and defines its KPIs by their labels and "
         "definitions. How each is computed, and by what it can be sliced: "
         "[SEMANTIC_LAYER.md](SEMANTIC_LAYER.md)."),
        "",
        "| metric | label | definition |",
        "|---|---|---|",
        *(f"| `{name}` | {label} | {definition} |"
          for name, label, definition, _, _ in catalog_rows(manifest)),
        "",
    ]


def render(manifest: dict | None = None) -> str:
    """The page; ``manifest``: the semantic manifest (default: the project's, compiled when
    stale)."""
    lines = [
        "# Metric definitions",
        "",
        ("<!-- Generated by `python -m dagster_project.metrics_doc` from "
         "dagster_project/reports/report_page.py and the semantic manifest; do not edit by "
         "hand. -->"),
        "",
        ("What each KPI means. The KPI report's definitions appendix shows the same text. "
         "Every column of every published table is defined in [MARTS.md](MARTS.md); the "
         "readings we chose where a definition left room (time zones, windows, ties, edge "
         "cases) are in the metric notes: [revenue](metrics_notes_revenue.md), "
         "[product](metrics_notes_product.md), [sales](metrics_notes_sales.md), "
         "[reference checks](metrics_notes_reference.md)."),
        "",
        "## Conventions",
        "",
        *(f"- {c}" for c in CONVENTIONS),
        "",
        *(line for term, text in MORE["Conventions"] for line in (f"### {term}", "", text, "")),
        "Defaults of the settings named below: "
        + ", ".join(f"`{k}` = {v}" for k, v in DEFAULT_PARAMS.items()) + ".",
        "",
    ]
    for section, anchors in _sections().items():
        lines += [f"## {section}", ""]
        for anchor in anchors:
            term = DEFINITIONS[anchor][0]
            lines += [f"### {term}", "", definition_text(anchor), ""]
        for term, text in MORE.get(section, []):
            lines += [f"### {term}", "", text, ""]
    lines += _metric_catalog(manifest if manifest is not None else load_manifest())
    return markdown(lines)


def main() -> int:
    return write_doc(DOC_PATH, render())


if __name__ == "__main__":
    sys.exit(main())
