"""Compare the reference's tables with a warehouse's (or serving database's) marts, column
by column: money to 1e-6, rates to 1e-9 (relative beyond 1), counts, dates and text exact."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path

from tests.reference.revenue import MOVEMENT_COLUMNS

# Grain of each mart the reference computes.
KEYS: dict[str, tuple[str, ...]] = {
    "saas_metrics_monthly": ("month",),
    "mrr_movements_monthly": ("month", "segment", "region", "acquisition_channel"),
    "mrr_by_plan_monthly": ("month", "plan_id"),
    "customer_cohorts_monthly": ("cohort_month", "months_since_start"),
    "fct_mrr_movements": ("customer_id", "movement_date"),
    "dim_customers": ("customer_id",),
    "cac_by_channel_monthly": ("month", "channel"),
    "acv_monthly": ("month",),
    "product_usage_daily": ("date",),
    "product_usage_weekly": ("week_start",),
    "product_usage_monthly": ("month",),
    "user_cohorts_monthly": ("cohort_month", "months_since_start"),
    "activation_monthly": ("signup_month",),
    "funnel_monthly": ("month", "step_order"),
    "referral_monthly": ("month",),
    "nps_monthly": ("month",),
    "nps_by_segment_monthly": ("month", "segment"),
    "csat_monthly": ("month",),
    "leads_monthly": ("month",),
    "lead_conversion_by_channel_monthly": ("month", "channel"),
    "releases_monthly": ("month",),
    "new_product_revenue_monthly": ("month",),
    "revenue_mix_monthly": ("month", "revenue_type"),
    "revenue_mix_by_region_monthly": ("month", "region", "revenue_type"),
    "revenue_mix_by_product_monthly": ("month", "product", "revenue_type"),
    "revenue_by_segment_monthly": ("month", "segment"),
    "customer_tiers": ("customer_id",),
    "customer_tiers_summary": ("tier",),
    "bookings_vs_revenue_monthly": ("month",),
    "sales_rep_performance_quarterly": ("sales_rep_id", "quarter_start"),
    "sales_rep_mix": ("sales_rep_id", "product", "contract_band", "revenue_type"),
    "customer_lifetime_value_by_segment": ("segment",),
    "buying_trend_monthly": ("segment", "month"),
    "kpi_actuals": ("kpi", "grain", "period_start"),
    "kpi_scorecard": ("kpi", "grain", "period_start"),
}
# Marts that may leave out all-zero rows (docs/METRICS.md, Dimensions).
MAY_OMIT_ZERO_ROWS = {"mrr_movements_monthly"}

MONEY = {
    "mrr_start",
    *MOVEMENT_COLUMNS,
    "mrr_end",
    "net_new_mrr",
    "arr_end",
    "arpa",
    "ltv",
    "sales_marketing_spend",
    "cac",
    "cac_new_business",
    "new_business_spend",
    "cohort_start_mrr",
    "mrr",
    "amount",
    "mrr_change",
    "mrr_before",
    "mrr_after",
    "current_mrr",
    "lifetime_revenue",
    "observed_ltv",
    "spend",
    "total_contract_value",
    "acv",
    "revenue",
    "new_product_revenue",
    "bookings_value",
    "new_business_bookings_value",
    "month_revenue",
    "region_revenue",
    "product_revenue",
    "revenue_t12m",
    "bookings",
    "quota",
    "revenue_to_date",
    "observed_ltv_total",
    "mean_observed_ltv",
    "moving_avg_3m",
    "smoothed",
    "forecast",
    "forecast_low",
    "forecast_high",
    "mean_observed_ltv_paying",
}
MONEY_TOL, RATE_TOL = 1e-6, 1e-9


@dataclass
class Diff:
    table: str
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.problems)


def _num(x: object) -> float:
    return float(x)  # type: ignore[arg-type]


def same(column: str, got: object, want: object, unit: str | None = None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(got) == bool(want) and type(got) is type(want)
    if isinstance(want, (str, date)) or isinstance(got, (str, date)):
        return got == want
    if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, int):
        return got == want
    g, w = _num(got), _num(want)
    money = column in MONEY if unit is None else unit == "money"
    tol = MONEY_TOL if money else RATE_TOL * max(1.0, abs(w))
    return abs(g - w) <= tol


def _fmt(x: object) -> str:
    return f"{float(x):.10g}" if isinstance(x, (Fraction, float)) else repr(x)


def compare_table(name: str, got_rows: list[dict], want_rows: list[dict], limit: int = 12) -> Diff:
    key = KEYS[name]
    diff = Diff(name)
    got = {tuple(r[k] for k in key): r for r in got_rows}
    want = {tuple(r[k] for k in key): r for r in want_rows}
    if len(got) != len(got_rows):
        diff.problems.append(f"{len(got_rows) - len(got)} duplicate keys in the mart")
    missing = sorted(set(want) - set(got), key=str)
    extra = sorted(set(got) - set(want), key=str)
    if name in MAY_OMIT_ZERO_ROWS:
        extra = [
            k
            for k in extra
            if any(
                _num(v) != 0
                for c, v in got[k].items()
                if c not in key and isinstance(v, (int, float))
            )
        ]
    if missing:
        diff.problems.append(f"{len(missing)} rows missing from the mart, e.g. {missing[:3]}")
    if extra:
        diff.problems.append(f"{len(extra)} rows not in the reference, e.g. {extra[:3]}")
    columns = [c for c in want_rows[0] if not c.startswith("_")] if want_rows else []
    have = set(got_rows[0]) if got_rows else set(columns)
    absent = [c for c in columns if c not in have]
    if absent:
        diff.problems.append(f"columns not in the mart: {absent}")
    bad: dict[str, list[str]] = {}
    for k in sorted(set(want) & set(got), key=str):
        w, g = want[k], got[k]
        unit = w.get("_unit")
        for c in columns:
            if c in key or c in absent:
                continue
            col_unit = unit if c in ("actual", "target", "previous_actual", "change") else None
            if not same(c, g[c], w[c], col_unit):
                bad.setdefault(c, []).append(f"{k}: mart {_fmt(g[c])} ref {_fmt(w[c])}")
    for c, items in bad.items():
        diff.problems.append(f"{c}: {len(items)} rows differ, e.g. " + "; ".join(items[:3]))
    if len(diff.problems) > limit:
        diff.problems = diff.problems[:limit] + [f"... {len(diff.problems) - limit} more"]
    return diff


def _connect(db: Path):
    import duckdb

    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.ConnectionException:  # already open read-write in this process (dbt)
        return duckdb.connect(str(db))


def mart_rows(db: Path, table: str, schema: str = "marts") -> list[dict]:
    con = _connect(db)
    try:
        rel = con.sql(f"select * from {schema}.{table}")
        cols = rel.columns
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def compare_all(db: Path, reference: dict[str, list[dict]]) -> list[Diff]:
    con = _connect(db)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    finally:
        con.close()
    out = []
    for name, rows in reference.items():
        if name not in tables:
            out.append(Diff(name, ["table not in the database"]))
            continue
        d = compare_table(name, mart_rows(db, name), rows)
        if d:
            out.append(d)
    return out
