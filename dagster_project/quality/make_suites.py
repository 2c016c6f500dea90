"""Write the expectation suites in ``expectations/`` from the contract.

    python -m dagster_project.quality.make_suites          # (re)write every suite
    python -m dagster_project.quality.make_suites --check  # exit 1 when a file is stale

Landing suites (``raw_<source>.json``) are derived from ``dagster_project/contract.py``:
types, required columns, enums, currency codes, non-negative amounts, JSON objects, the
source's row rules, uniqueness of its key on distinct rows (critical), plus freshness and
volume (warning). Mart suites (``marts_<table>.json``) state docs/MARTS.md (contract tables)
and docs/METRICS.md ranges. Edit this file, not the JSON: a unit test keeps them in sync.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dagster_project.contract import BOUNDS, SOURCES, Column, Source
from dagster_project.quality.suites import (
    FRAME_STATS,
    landing_suite_name,
    mart_suite_name,
    suite_path,
)
from dagster_project.settings import EXPECTATIONS_DIR

GENERATED_BY = "python -m dagster_project.quality.make_suites"

# How GX on pandas names the dtype DuckDB hands over for each warehouse type (DATE arrives
# as datetime64). The SQL push-down compares ``meta.sql_type`` with the table's type.
PANDAS_TYPES: dict[str, list[str]] = {
    "VARCHAR": ["str"],
    "TIMESTAMP": ["datetime64[us]", "datetime64[ns]", "datetime64[ms]", "datetime64[s]"],
    "DATE": ["datetime64[us]", "datetime64[ns]", "datetime64[ms]", "datetime64[s]"],
    "DOUBLE": ["float64"],
    "BIGINT": ["Int64Dtype", "int64"],
    "BOOLEAN": ["BooleanDtype", "bool"],
}

# Freshness: the row time whose newest value is compared with the as-of date (or now), and
# the age in days above which the source is reported stale (a warning).
FRESHNESS: dict[str, tuple[str, float]] = {
    "customers": ("created_at", 35),
    "users": ("signed_up_at", 3),
    "product_events": ("occurred_at", 2),
    "subscription_events": ("coalesce(occurred_at, effective_at)", 14),
    "invoices": ("issued_at", 35),
    "bookings": ("booked_at", 35),
    "marketing_spend": ("spend_date", 35),
    "leads": ("created_at", 7),
    "survey_responses": ("responded_at", 35),
    "releases": ("released_at", 120),
    "fx_rates": ("rate_date", 35),
}
# Volume: rows on the newest day against the mean rows per day of the 7 days before it;
# a warning under 50% or above 300%. Not judged when those days average < min_daily_rows.
VOLUME = {"window_days": 7, "min_daily_rows": 10, "min_ratio": 0.5, "max_ratio": 3.0}


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


def in_set(column: str, values: list[str], severity: str = "critical") -> dict[str, Any]:
    return expectation("expect_column_values_to_be_in_set", severity, column=column,
                       value_set=list(values))


def unique(columns: list[str], severity: str = "critical",
           meta: dict[str, Any] | None = None) -> dict[str, Any]:
    if len(columns) == 1:
        return expectation("expect_column_values_to_be_unique", severity, meta,
                           column=columns[0])
    return expectation("expect_compound_columns_to_be_unique", severity, meta,
                       column_list=list(columns))


def at_least(column_a: str, column_b: str, severity: str = "critical") -> dict[str, Any]:
    """column_a >= column_b on every row where both are present."""
    return expectation(
        "expect_column_pair_values_a_to_be_greater_than_b", severity,
        column_A=column_a, column_B=column_b, or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def is_null(column: str) -> dict[str, Any]:
    return {"type": "nullity", "column": {"name": column}, "is_null": True}


def not_null_condition(column: str) -> dict[str, Any]:
    return {"type": "nullity", "column": {"name": column}, "is_null": False}


def compare(column: str, operator: str, parameter: Any) -> dict[str, Any]:
    return {"type": "comparison", "column": {"name": column}, "operator": operator,
            "parameter": parameter}


# ---------------------------------------------------------------------------------------
# Landing suites


def _column_expectations(col: Column) -> list[dict[str, Any]]:
    out = [
        expectation("expect_column_values_to_be_in_type_list", meta={"sql_type": col.sql_type},
                    column=col.name, type_list=PANDAS_TYPES[col.sql_type]),
    ]
    if col.required:
        out.append(not_null(col.name))
    if col.enum:
        out.append(in_set(col.name, list(col.enum)))
    if col.type == "currency":
        out.append(expectation("expect_column_values_to_match_regex", column=col.name,
                               regex="^[A-Z]{3}$"))
    if col.type == "json":
        out.append(expectation("expect_column_values_to_be_json_parseable", column=col.name))
    if col.type in BOUNDS:
        bound = float(BOUNDS[col.type][0])
        out.append(between(col.name, min_value=0 if col.non_negative else -bound,
                           max_value=bound))
    elif col.non_negative:
        out.append(between(col.name, min_value=0))
    return out


# The contract's row rules are SQL conditions; each maps onto expectations here. A rule
# missing from this table stops make_suites, so a new rule cannot go unchecked.
RULE_EXPECTATIONS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("product_events", "user_id is null and anonymous_id is null"): [
        not_null("user_id", row_condition=is_null("anonymous_id")),
    ],
    ("subscription_events", "event_type in ('created', 'changed') and unit_amount is null"): [
        not_null("unit_amount",
                 row_condition=compare("event_type", "IN", ["created", "changed"])),
    ],
    ("bookings", "contract_months = 0"): [between("contract_months", min_value=1)],
    ("survey_responses", "survey = 'nps' and (score < 0 or score > 10)"): [
        between("score", 0, 10, row_condition=compare("survey", "==", "nps")),
    ],
    ("survey_responses", "survey = 'csat' and (score < 1 or score > 5)"): [
        between("score", 1, 5, row_condition=compare("survey", "==", "csat")),
    ],
    ("fx_rates", "rate is null and rate_to_reporting is null"): [
        not_null("rate", row_condition=is_null("rate_to_reporting")),
    ],
    ("fx_rates", "rate is not null and rate_to_reporting is not null"): [
        expectation("expect_column_values_to_be_null", column="rate_to_reporting",
                    row_condition=not_null_condition("rate")),
    ],
    ("fx_rates", "rate is not null and base_currency is null"): [
        not_null("base_currency", row_condition=not_null_condition("rate")),
    ],
    ("fx_rates", "coalesce(rate, rate_to_reporting) <= 0"): [
        between("rate", min_value=0, strict_min=True),
        between("rate_to_reporting", min_value=0, strict_min=True),
    ],
}


def _rule_expectations(src: Source) -> list[dict[str, Any]]:
    out = []
    for rule in src.rules:
        try:
            out.extend(RULE_EXPECTATIONS[(src.name, rule.broken)])
        except KeyError:
            raise SystemExit(
                f"contract rule of {src.name} has no expectation: {rule.broken!r}; "
                "add it to RULE_EXPECTATIONS in dagster_project/quality/make_suites.py"
            ) from None
    return out


def landing_suite(source: str) -> dict[str, Any]:
    src = SOURCES[source]
    freshness_expr, max_age = FRESHNESS[source]
    expectations: list[dict[str, Any]] = []
    for col in src.columns:
        expectations.extend(_column_expectations(col))
    expectations.extend(_rule_expectations(src))
    meta: dict[str, Any] = {
        "generated_by": f"{GENERATED_BY} (from dagster_project/contract.py)",
        "asset_key": ["raw", source],
        "table": f"raw.{source}",
        "key": list(src.key),
        "distinct_on": src.column_names,
    }
    if src.key and src.on_conflict != "last_wins":
        # raw.<source> keeps identical re-landed rows (staging dedupes them), so an id must
        # be unique among the distinct rows; two different rows with one id are an error.
        expectations.append(unique(list(src.key), meta={"rows": "distinct"}))
    elif src.key:
        meta["uniqueness"] = (
            "not expected: a later landed row of an id updates it (last row wins)"
        )
    else:
        meta["uniqueness"] = "not expected: rows have no id and are never deduplicated"
    meta["freshness"] = {"expression": freshness_expr}
    meta["volume"] = {"expression": freshness_expr, "window_days": VOLUME["window_days"],
                      "min_daily_rows": VOLUME["min_daily_rows"]}
    stats = {"frame": FRAME_STATS}
    expectations.append(between("newest_age_days", max_value=max_age, severity="warning",
                                meta=dict(stats)))
    expectations.append(between("volume_ratio", VOLUME["min_ratio"], VOLUME["max_ratio"],
                                severity="warning", meta=dict(stats)))
    return {"name": landing_suite_name(source), "meta": meta, "expectations": expectations}


# ---------------------------------------------------------------------------------------
# Mart suites (the contract tables of docs/MARTS.md)

BRIDGE_MONEY = ["mrr_start", "new_mrr", "expansion_mrr", "reactivation_mrr",
                "contraction_mrr", "churned_mrr", "mrr_end"]
BRIDGE_COLUMNS = [*BRIDGE_MONEY, "net_new_mrr", "arr_end", "customers_start",
                  "new_customers", "reactivated_customers", "churned_customers", "customers_end"]
BRIDGE_NON_NEGATIVE = [*BRIDGE_MONEY, "arr_end", "customers_start", "new_customers",
                       "reactivated_customers", "churned_customers", "customers_end"]

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

RATE_NOTES = {
    "logo_churn_rate": "churned_customers counts movements, so a month whose new customers "
    "also churn can exceed customers_start: above 1 is a warning, not an error",
    "active_pct_of_base": "events of users missing from users count in mau, so mau can "
    "exceed total_users: above 1 is a warning, not an error",
}


def _rules(table: str) -> list[dict[str, Any]]:
    if table == "saas_metrics_monthly":
        non_negative = [*BRIDGE_NON_NEGATIVE, "arpa", "gross_mrr_churn_rate",
                        "net_revenue_retention", "quick_ratio", "ltv",
                        "sales_marketing_spend", "cac", "ltv_to_cac", "cac_payback_months"]
        return [
            *[not_null(c) for c in ["month", *BRIDGE_COLUMNS, "sales_marketing_spend"]],
            unique(["month"]),
            *[between(c, min_value=0) for c in non_negative],
            between("logo_churn_rate", min_value=0),
            between("logo_churn_rate", max_value=1, severity="warning"),
            between("customer_retention_rate", 0, 1),
            between("gross_revenue_retention", 0, 1),
        ]
    if table == "mrr_movements_monthly":
        return [
            *[not_null(c) for c in MART_COLUMNS[table]],
            unique(MART_KEYS[table]),
            *[between(c, min_value=0) for c in BRIDGE_NON_NEGATIVE],
        ]
    if table == "customer_cohorts_monthly":
        return [
            *[not_null(c) for c in ["cohort_month", "months_since_start", "cohort_customers",
                                    "active_customers", "cohort_start_mrr", "mrr"]],
            unique(MART_KEYS[table]),
            *[between(c, min_value=0) for c in ["months_since_start", "cohort_customers",
                                                "active_customers", "cohort_start_mrr", "mrr",
                                                "revenue_retention"]],
            at_least("cohort_customers", "active_customers"),
            between("logo_retention", 0, 1),
        ]
    if table == "product_usage_daily":
        counts = ["dau", "wau", "mau", "new_users", "total_users"]
        return [
            *[not_null(c) for c in ["date", *counts]],
            unique(["date"]),
            *[between(c, min_value=0) for c in counts],
            at_least("wau", "dau"),
            at_least("mau", "wau"),
            at_least("total_users", "new_users"),
            between("stickiness", 0, 1),
            between("active_pct_of_base", min_value=0),
            between("active_pct_of_base", max_value=1, severity="warning"),
        ]
    if table == "user_cohorts_monthly":
        return [
            *[not_null(c) for c in ["cohort_month", "months_since_start", "cohort_users",
                                    "active_users"]],
            unique(MART_KEYS[table]),
            *[between(c, min_value=0) for c in ["months_since_start", "cohort_users",
                                                "active_users"]],
            at_least("cohort_users", "active_users"),
            between("user_retention", 0, 1),
        ]
    if table == "nps_monthly":
        counts = ["responses", "promoters", "passives", "detractors"]
        return [
            *[not_null(c) for c in ["month", *counts]],
            unique(["month"]),
            *[between(c, min_value=0) for c in counts],
            *[at_least("responses", c) for c in counts[1:]],
            between("nps", -100, 100),
        ]
    if table == "leads_monthly":
        counts = ["leads", "qualified_leads", "converted_leads"]
        return [
            *[not_null(c) for c in ["month", *counts]],
            unique(["month"]),
            *[between(c, min_value=0) for c in counts],
            at_least("leads", "qualified_leads"),
            at_least("leads", "converted_leads"),
            between("lead_to_customer_rate", 0, 1),
            between("lead_velocity_rate_pct", min_value=-100),
        ]
    if table == "kpi_scorecard":
        return [
            *[not_null(c) for c in ["kpi", "grain", "period_start", "target", "status"]],
            unique(MART_KEYS[table]),
            in_set("grain", ["month", "quarter"]),
            in_set("status", ["on_track", "at_risk", "off_track", "no_data"]),
        ]
    raise KeyError(table)


def mart_suite(table: str) -> dict[str, Any]:
    columns = expectation("expect_table_columns_to_match_set",
                          column_set=MART_COLUMNS[table], exact_match=False)
    meta: dict[str, Any] = {
        "generated_by": f"{GENERATED_BY} (the contract tables of docs/MARTS.md)",
        "asset_key": ["marts", table],
        "table": f"marts.{table}",
        "key": MART_KEYS[table],
    }
    notes = {c: n for c, n in RATE_NOTES.items() if c in MART_COLUMNS[table]}
    if notes:
        meta["notes"] = notes
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
