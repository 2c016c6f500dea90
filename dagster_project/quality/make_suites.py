"""Write the expectation suites in ``expectations/``.

    python -m dagster_project.quality.make_suites          # (re)write every suite
    python -m dagster_project.quality.make_suites --check  # exit 1 when a file is stale

Great Expectations owns the expectations about the data itself, beyond what the contract
and the models' structure state:

- Landing suites (``raw_<source>.json``) judge each new ingestion batch against the
  batches before it: referential coverage between sources, values no earlier batch held,
  drift of amounts and scores, rows per day against the days before (warnings). The
  contract's row rules are ingestion's (quarantine), not restated here.
- Mart suites (``marts_<table>.json``) hold the published column set of the contract
  tables (critical) and plausible ranges of the published KPIs (warnings). Keys, not-null
  columns, ranges and identities are dbt tests on the models.

Edit this file, not the JSON: a unit test keeps them in sync.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dagster_project.contract import SOURCES
from dagster_project.quality.freshness import FRESHNESS
from dagster_project.quality.suites import (
    landing_suite_name,
    mart_suite_name,
    suite_path,
)
from dagster_project.settings import EXPECTATIONS_DIR

GENERATED_BY = "python -m dagster_project.quality.make_suites"

def expectation(
    type_: str, severity: str = "critical", meta: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": meta or {}, "severity": severity}


def not_null(column: str, severity: str = "critical", **kw: Any) -> dict[str, Any]:
    return expectation("expect_column_values_to_not_be_null", severity, column=column, **kw)


def between(
    column: str,
    min_value: float | None = None,
    max_value: float | None = None,
    severity: str = "critical",
    meta: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if min_value is not None:
        bounds["min_value"] = min_value
    if max_value is not None:
        bounds["max_value"] = max_value
    return expectation(
        "expect_column_values_to_be_between", severity, meta, column=column, **bounds, **kw
    )


def compare(column: str, operator: str, parameter: Any) -> dict[str, Any]:
    return {"type": "comparison", "column": {"name": column}, "operator": operator,
            "parameter": parameter}



# Landing suites judge each new ingestion batch against the data that came before it.
# The contract's row rules are not restated here: ingestion applies them to every row and
# quarantines what breaks them (dagster_project/contract.py).

# Referential coverage: of the distinct ids a batch names in a column, the share that the
# referenced source knows (warning under COVERAGE; late-arriving parents are normal).
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "users": [("customer_id", "customers", "customer_id")],
    "product_events": [("user_id", "users", "user_id")],
    "subscription_events": [("customer_id", "customers", "customer_id")],
    "invoices": [("customer_id", "customers", "customer_id")],
    "bookings": [("customer_id", "customers", "customer_id")],
    "leads": [("customer_id", "customers", "customer_id")],
    "survey_responses": [("customer_id", "customers", "customer_id"),
                         ("user_id", "users", "user_id")],
}
COVERAGE = 0.95
# Value sets that change over time: a value no earlier batch held (a new plan, channel,
# event name) is a warning, so that mapping tables and reports are updated on purpose.
VALUE_SETS: dict[str, list[str]] = {
    "customers": ["segment", "region", "acquisition_channel"],
    "users": ["acquisition_channel"],
    "product_events": ["event_name"],
    "subscription_events": ["plan_id", "currency"],
    "invoices": ["product", "currency"],
    "bookings": ["product", "currency"],
    "marketing_spend": ["channel", "currency"],
    "leads": ["channel"],
    "releases": ["product"],
}
# Drift of amounts: the batch's median against the median of earlier batches (a factor
# of 5 either way is a warning: a price in cents, a currency mix-up).
AMOUNTS: dict[str, str] = {
    "subscription_events": "unit_amount",
    "invoices": "amount",
    "bookings": "total_contract_value",
    "marketing_spend": "amount",
}
MEDIAN_FACTOR = 5.0
# Drift of scores: the batch's mean NPS score within 2 points of the earlier mean.
SCORE_SHIFT = 2.0
# A median or mean of fewer rows says little: drift is judged on batches of at least this.
DRIFT_MIN_ROWS = 30
# Volume: rows per day of the batch's days against the mean rows per day of the 7 days
# before each (days without rows count as 0); a warning under 25% or above 400% on more
# than a tenth of the judged days. A day is judged only when those 7 days average at least
# min_daily_rows. The newest days of a source whose rows arrive late (product events) are
# not complete yet, so the lower bound leaves room for that (a nightly demo batch: ~35%).
VOLUME = {"window_days": 7, "min_daily_rows": 10, "min_ratio": 0.25, "max_ratio": 4.0,
          "mostly": 0.9}

# Frames a landing expectation is validated on (suite meta.frames says how each is made).
FRAME_DAILY = "daily_volume"


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


def landing_suite(source: str) -> dict[str, Any]:
    src = SOURCES[source]
    expectations: list[dict[str, Any]] = []
    for column, ref, ref_column in REFERENCES.get(source, []):
        known = f"{column}_in_{ref}"
        expectations.append(not_null(
            known, severity="warning", mostly=COVERAGE,
            meta={"frame": f"references:{column}",
                  "rule": f"{COVERAGE:.0%} of the distinct {column}s of the batch are "
                          f"{ref_column}s of raw.{ref}"}))
    for column in VALUE_SETS.get(source, []):
        expectations.append(expectation(
            # on the frame of distinct values: GX renders this one's unexpected values
            # (its distinct-values twin breaks the Data Docs renderer in GX 1.24)
            "expect_column_values_to_be_in_set", "warning",
            {"frame": f"distinct:{column}", "history": "seen_values",
             "rule": f"no {column} that no earlier batch held"},
            column=column, value_set=_param(f"{column}_seen")))
    if source in AMOUNTS:
        column = AMOUNTS[source]
        expectations.append(expectation(
            "expect_column_median_to_be_between", "warning",
            {"history": "median", "factor": MEDIAN_FACTOR, "min_rows": DRIFT_MIN_ROWS,
             "rule": f"median {column} within a factor {MEDIAN_FACTOR:g} of earlier batches'"},
            column=column, min_value=_param(f"{column}_median_low"),
            max_value=_param(f"{column}_median_high")))
    if source == "survey_responses":
        expectations.append(expectation(
            "expect_column_mean_to_be_between", "warning",
            {"history": "mean", "shift": SCORE_SHIFT, "min_rows": DRIFT_MIN_ROWS,
             "rule": f"mean NPS score within {SCORE_SHIFT:g} points of earlier batches'"},
            column="score", row_condition=compare("survey", "==", "nps"),
            min_value=_param("score_mean_low"), max_value=_param("score_mean_high")))
    expectations.append(between(
        "volume_ratio", VOLUME["min_ratio"], VOLUME["max_ratio"], severity="warning",
        meta={"frame": FRAME_DAILY, "history": "days_before",
              "rule": f"rows per day within {VOLUME['min_ratio']:.0%}..{VOLUME['max_ratio']:.0%} "
                      f"of the {VOLUME['window_days']} days before"},
        mostly=VOLUME["mostly"]))
    personal = [c.name for c in src.columns if c.personal]
    meta: dict[str, Any] = {
        "generated_by": f"{GENERATED_BY} (beyond dagster_project/contract.py)",
        "asset_key": ["raw", source],
        "table": f"raw.{source}",
        "key": list(src.key) or ["_file", "_line"],
        "batch": "the rows of the source's newest ingestion batch (ops.ingestion_batches); "
                 "earlier rows are its history",
        "row_time": FRESHNESS[source][0],
        "volume": {k: VOLUME[k] for k in ("window_days", "min_daily_rows")},
        "references": {c: f"raw.{r}.{rc}" for c, r, rc in REFERENCES.get(source, [])},
    }
    if personal:
        meta["never_read"] = personal
    return {"name": landing_suite_name(source), "meta": meta, "expectations": expectations}


# ---------------------------------------------------------------------------------------
# Mart suites (the contract tables of docs/MARTS.md)

BRIDGE_MONEY = ["mrr_start", "new_mrr", "expansion_mrr", "reactivation_mrr",
                "contraction_mrr", "churned_mrr", "mrr_end"]
BRIDGE_COLUMNS = [*BRIDGE_MONEY, "net_new_mrr", "arr_end", "customers_start",
                  "new_customers", "reactivated_customers", "churned_customers", "customers_end"]

MART_COLUMNS: dict[str, list[str]] = {
    "saas_metrics_monthly": [
        "month", *BRIDGE_COLUMNS, "arpa", "logo_churn_rate", "customer_retention_rate",
        "gross_mrr_churn_rate", "net_mrr_churn_rate", "net_revenue_retention",
        "gross_revenue_retention", "quick_ratio", "ltv", "sales_marketing_spend", "cac",
        "ltv_to_cac", "cac_payback_months",
    ],
    "mrr_movements_monthly": ["month", "segment", "region", "acquisition_channel",
                              *BRIDGE_COLUMNS],
    "customer_cohorts_monthly": ["cohort_month", "months_since_start", "cohort_customers",
                                 "active_customers", "logo_retention", "cohort_start_mrr",
                                 "mrr", "revenue_retention"],
    "product_usage_daily": ["date", "dau", "wau", "mau", "stickiness", "new_users",
                            "total_users", "active_pct_of_base"],
    "user_cohorts_monthly": ["cohort_month", "months_since_start", "cohort_users",
                             "active_users", "user_retention"],
    "nps_monthly": ["month", "responses", "promoters", "passives", "detractors", "nps"],
    "leads_monthly": ["month", "leads", "qualified_leads", "converted_leads",
                      "lead_to_customer_rate", "lead_velocity_rate_pct"],
    "kpi_scorecard": ["kpi", "grain", "period_start", "actual", "target", "attainment",
                      "status", "previous_actual", "change"],
}

MART_KEYS: dict[str, list[str]] = {
    "saas_metrics_monthly": ["month"],
    "mrr_movements_monthly": ["month", "segment", "region", "acquisition_channel"],
    "customer_cohorts_monthly": ["cohort_month", "months_since_start"],
    "product_usage_daily": ["date"],
    "user_cohorts_monthly": ["cohort_month", "months_since_start"],
    "nps_monthly": ["month"],
    "leads_monthly": ["month"],
    "kpi_scorecard": ["kpi", "grain", "period_start"],
}

# Plausible ranges of the published KPIs (warnings). The marts' structural rules (keys,
# not-null columns, ranges that follow from the definitions, bridges, continuity) are dbt
# tests on the models; these say "a finance team would ask about this number before
# signing it", on numbers that are correct by construction yet unusual.
PLAUSIBLE: dict[str, list[tuple[str, float | None, float | None, str]]] = {
    "saas_metrics_monthly": [
        ("net_revenue_retention", 0.5, 1.5,
         "existing customers keeping under half or over 1.5x of a month's starting MRR"),
        ("gross_mrr_churn_rate", None, 0.5, "half of the starting MRR lost in one month"),
        ("cac_payback_months", None, 120.0, "more than ten years to earn back the CAC"),
        ("ltv_to_cac", None, 50.0, "an LTV:CAC above 50"),
    ],
    "customer_cohorts_monthly": [
        ("revenue_retention", None, 5.0, "a cohort paying over 5x its starting MRR"),
    ],
    "leads_monthly": [
        ("lead_to_customer_rate", None, 0.8, "over 80% of a month's leads converting"),
    ],
}


def _rules(table: str) -> list[dict[str, Any]]:
    return [
        between(column, low, high, severity="warning", meta={"rule": why})
        for column, low, high, why in PLAUSIBLE.get(table, [])
    ]


def mart_suite(table: str) -> dict[str, Any]:
    columns = expectation("expect_table_columns_to_match_set",
                          column_set=MART_COLUMNS[table], exact_match=False)
    meta: dict[str, Any] = {
        "generated_by": f"{GENERATED_BY} (the contract tables of docs/MARTS.md)",
        "asset_key": ["marts", table],
        "table": f"marts.{table}",
        "key": MART_KEYS[table],
    }
    return {"name": mart_suite_name(table), "meta": meta,
            "expectations": [columns, *_rules(table)]}


def all_suites() -> dict[str, dict[str, Any]]:
    suites = {landing_suite_name(s): landing_suite(s) for s in SOURCES}
    suites.update({mart_suite_name(t): mart_suite(t) for t in MART_COLUMNS})
    return suites


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def stale_files(out_dir: Path = EXPECTATIONS_DIR) -> list[Path]:
    return [
        suite_path(name, out_dir)
        for name, suite in all_suites().items()
        if not suite_path(name, out_dir).exists()
        or suite_path(name, out_dir).read_text(encoding="utf-8") != render(suite)
    ]


def write_suites(out_dir: Path = EXPECTATIONS_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, suite in all_suites().items():
        path = suite_path(name, out_dir)
        text = render(suite)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=EXPECTATIONS_DIR)
    parser.add_argument("--check", action="store_true",
                        help="only report suites that differ from the contract")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    written = write_suites(args.out)
    print(f"{len(all_suites())} suites in {args.out}, {len(written)} (re)written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
