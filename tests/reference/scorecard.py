"""The KPI scorecard from docs/METRICS.md (KPI scorecard) and the quarterly rules written down in
docs/metrics_notes_sales.md, recomputed from the reference's own marts."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta

from tests.reference.base import Context
from tests.reference.common import add_months, month_end, month_of, quarter_of, ratio
from tests.reference.revenue import MOVEMENT_COLUMNS, Revenue

MONEY_KPIS = {
    "mrr",
    "arr",
    *MOVEMENT_COLUMNS,
    "net_new_mrr",
    "arpa",
    "ltv",
    "sales_marketing_spend",
    "cac",
    "revenue",
    "bookings",
}
FLOWS = (
    *MOVEMENT_COLUMNS,
    "new_customers",
    "churned_customers",
    "sales_marketing_spend",
)


def _mean(xs: list) -> float | None:
    xs = [float(x) for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def _f(x):
    return None if x is None else float(x)


def actuals(ctx: Context, rev: Revenue, marts: dict[str, list[dict]]) -> dict[tuple, float | None]:
    gm = float(ctx.config.var("gross_margin"))
    out: dict[tuple, float | None] = {}

    def put(kpi: str, grain: str, period: date, value) -> None:
        out[(kpi, grain, period)] = _f(value)

    saas = sorted(marts["saas_metrics_monthly"], key=lambda r: r["month"])
    for r in saas:
        m = r["month"]
        for kpi, col in [("mrr", "mrr_end"), ("arr", "arr_end"), ("customers", "customers_end")]:
            put(kpi, "month", m, r[col])
        put("mrr_growth_rate", "month", m, ratio(r["net_new_mrr"], r["mrr_start"]))
        for col in (
            *MOVEMENT_COLUMNS,
            "net_new_mrr",
            "new_customers",
            "churned_customers",
            "arpa",
            "logo_churn_rate",
            "customer_retention_rate",
            "gross_mrr_churn_rate",
            "net_mrr_churn_rate",
            "net_revenue_retention",
            "gross_revenue_retention",
            "quick_ratio",
            "ltv",
            "sales_marketing_spend",
            "cac",
            "ltv_to_cac",
            "cac_payback_months",
        ):
            put(col, "month", m, r[col])
    quarters: dict[date, list[dict]] = defaultdict(list)
    for r in saas:
        quarters[quarter_of(r["month"])].append(r)
    for q, rows in quarters.items():
        first, last = rows[0], rows[-1]
        s = {k: sum(r[k] for r in rows) for k in FLOWS}
        losses = s["churned_mrr"] + s["contraction_mrr"]
        put("mrr", "quarter", q, last["mrr_end"])
        put("arr", "quarter", q, last["arr_end"])
        put("customers", "quarter", q, last["customers_end"])
        put("arpa", "quarter", q, last["arpa"])
        put("ltv", "quarter", q, last["ltv"])
        for k in FLOWS:
            put(k, "quarter", q, s[k])
        put("net_new_mrr", "quarter", q, last["mrr_end"] - first["mrr_start"])
        put(
            "mrr_growth_rate",
            "quarter",
            q,
            ratio(last["mrr_end"] - first["mrr_start"], first["mrr_start"]),
        )
        put(
            "logo_churn_rate", "quarter", q, ratio(s["churned_customers"], first["customers_start"])
        )
        put("gross_mrr_churn_rate", "quarter", q, ratio(losses, first["mrr_start"]))
        put(
            "net_mrr_churn_rate",
            "quarter",
            q,
            ratio(losses - s["expansion_mrr"] - s["reactivation_mrr"], first["mrr_start"]),
        )
        put(
            "quick_ratio",
            "quarter",
            q,
            ratio(s["new_mrr"] + s["expansion_mrr"] + s["reactivation_mrr"], losses),
        )
        cac = ratio(s["sales_marketing_spend"], s["new_customers"])
        put("cac", "quarter", q, cac)
        put("ltv_to_cac", "quarter", q, None if last["ltv"] is None else ratio(last["ltv"], cac))
        per_new = ratio(s["new_mrr"], s["new_customers"])
        put(
            "cac_payback_months",
            "quarter",
            q,
            None if cac is None or per_new is None else ratio(cac, per_new * gm),
        )
        # retention: each customer's MRR at the end of the day before the quarter vs its end
        opening, closing = q - timedelta(days=1), min(month_end(add_months(q, 2)), ctx.as_of)
        starts = {c: rev.mrr(c, opening) for c in rev.customers()}
        starts = {c: v for c, v in starts.items() if v > 0}
        ends = {c: rev.mrr(c, closing) for c in starts}
        total = sum(starts.values())
        put(
            "customer_retention_rate",
            "quarter",
            q,
            ratio(sum(1 for v in ends.values() if v > 0), len(starts)),
        )
        put("net_revenue_retention", "quarter", q, ratio(sum(ends.values()), total))
        put(
            "gross_revenue_retention",
            "quarter",
            q,
            ratio(sum(min(ends[c], v) for c, v in starts.items()), total),
        )

    days = marts["product_usage_daily"]
    for grain, period_of in (("month", month_of), ("quarter", quarter_of)):
        groups: dict[date, list[dict]] = defaultdict(list)
        for r in days:
            groups[period_of(r["date"])].append(r)
        for p, rows in groups.items():
            rows = sorted(rows, key=lambda r: r["date"])
            put("dau", grain, p, _mean([r["dau"] for r in rows]))
            put("dau_mau", grain, p, _mean([r["stickiness"] for r in rows]))
            put("mau", grain, p, rows[-1]["mau"])

    def sums(table: str, key: str, cols: tuple[str, ...]) -> dict[date, dict]:
        g: dict[date, dict] = defaultdict(lambda: dict.fromkeys(cols, 0))
        for r in marts[table]:
            for c in cols:
                g[quarter_of(r[key])][c] += r[c]
        return g

    for r in marts["activation_monthly"]:
        put("activation_rate", "month", r["signup_month"], r["activation_rate"])
    for q, s in sums("activation_monthly", "signup_month", ("users", "activated_users")).items():
        put("activation_rate", "quarter", q, ratio(s["activated_users"], s["users"]))
    for r in marts["nps_monthly"]:
        put("nps", "month", r["month"], r["nps"])
    for q, s in sums("nps_monthly", "month", ("promoters", "detractors", "responses")).items():
        put("nps", "quarter", q, ratio(100 * (s["promoters"] - s["detractors"]), s["responses"]))
    for r in marts["csat_monthly"]:
        put("csat", "month", r["month"], r["csat"])
    for q, s in sums("csat_monthly", "month", ("satisfied_responses", "responses")).items():
        put("csat", "quarter", q, ratio(s["satisfied_responses"], s["responses"]))
    for r in marts["leads_monthly"]:
        for k in ("qualified_leads", "lead_velocity_rate_pct", "lead_to_customer_rate"):
            put(k, "month", r["month"], r[k])
    lq = sums("leads_monthly", "month", ("leads", "qualified_leads", "converted_leads"))
    for q, s in lq.items():
        prev = lq.get(add_months(q, -3))
        put("qualified_leads", "quarter", q, s["qualified_leads"])
        put(
            "lead_velocity_rate_pct",
            "quarter",
            q,
            None
            if prev is None
            else ratio(
                100 * (s["qualified_leads"] - prev["qualified_leads"]), prev["qualified_leads"]
            ),
        )
        put("lead_to_customer_rate", "quarter", q, ratio(s["converted_leads"], s["leads"]))
    for r in marts["releases_monthly"]:
        put("on_time_release_share", "month", r["month"], r["on_time_share"])
    for q, s in sums(
        "releases_monthly", "month", ("on_time_releases", "releases_with_plan")
    ).items():
        put(
            "on_time_release_share",
            "quarter",
            q,
            ratio(s["on_time_releases"], s["releases_with_plan"]),
        )
    for r in marts["bookings_vs_revenue_monthly"]:
        put("revenue", "month", r["month"], r["revenue"])
        put("bookings", "month", r["month"], r["bookings_value"])
        put("bookings_count", "month", r["month"], r["bookings_count"])
    for q, s in sums(
        "bookings_vs_revenue_monthly", "month", ("revenue", "bookings_value", "bookings_count")
    ).items():
        put("revenue", "quarter", q, s["revenue"])
        put("bookings", "quarter", q, s["bookings_value"])
        put("bookings_count", "quarter", q, s["bookings_count"])
    return out


def attainment(actual, target, direction):
    if actual is None or target is None:
        return None
    if direction == "lower_is_better":
        if target > 0 and actual > 0:
            return target / actual
        if target < 0:
            return actual / target
        return None
    if target > 0:
        return actual / target
    if target < 0 and actual < 0:
        return target / actual
    return None


def status(actual, target, direction, tolerance, att):
    if actual is None:
        return "no_data"
    if att is None:
        meets = actual <= target if direction == "lower_is_better" else actual >= target
        return "on_track" if meets else "off_track"
    if att >= 1:
        return "on_track"
    if att >= 1 - (tolerance or 0):
        return "at_risk"
    return "off_track"


def kpi_actuals(acts: dict[tuple, float | None]) -> list[dict]:
    """kpi_actuals: one row per KPI, grain and period of ``actuals``."""
    return [
        {
            "kpi": kpi,
            "grain": grain,
            "period_start": period,
            "actual": value,
            "_unit": "money" if kpi in MONEY_KPIS else "other",
        }
        for (kpi, grain, period), value in sorted(acts.items())
    ]


def kpi_scorecard(ctx: Context, acts: dict[tuple, float | None]) -> list[dict]:
    with open(ctx.config.seeds_dir / "kpi_targets.csv") as f:
        targets = list(csv.DictReader(f))
    out = []
    for t in targets:
        kpi, grain = t["kpi"], t["grain"]
        period = date.fromisoformat(t["period_start"])
        target = float(t["target"])
        direction = t["direction"] or "higher_is_better"
        tol = float(t["tolerance"]) if t["tolerance"] else None
        actual = acts.get((kpi, grain, period))
        prev = acts.get((kpi, grain, add_months(period, -3 if grain == "quarter" else -1)))
        att = attainment(actual, target, direction)
        label = (
            f"{period.year}-Q{(period.month - 1) // 3 + 1}"
            if grain == "quarter"
            else f"{period.year}-{period.month:02d}"
        )
        out.append(
            {
                "kpi": kpi,
                "grain": grain,
                "period_start": period,
                "actual": actual,
                "target": target,
                "attainment": att,
                "status": status(actual, target, direction, tol, att),
                "previous_actual": prev,
                "change": None if actual is None or prev is None else actual - prev,
                "direction": direction,
                "tolerance": tol,
                "period_label": label,
                "_unit": "money" if kpi in MONEY_KPIS else "other",
            }
        )
    return out
