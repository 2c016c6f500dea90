"""Revenue structure and sales marts from docs/METRICS.md (Revenue structure and sales; Unit
economics: observed customer lifetime value), plus the buying trend."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import date
from fractions import Fraction

from tests.reference.base import UNKNOWN, Context
from tests.reference.common import (
    add_months,
    month_end,
    month_of,
    months_between,
    quarter_of,
    ratio,
)
from tests.reference.revenue import Revenue, paid_invoices

ZERO = Fraction(0)


def _revenue(ctx: Context) -> list[dict]:
    out = []
    for inv in paid_invoices(ctx):
        out.append(
            dict(
                inv,
                month=month_of(inv["issued_date"]),
                product=inv["product"] or UNKNOWN,
                revenue_type=inv["revenue_type"] or "subscription",
                segment=ctx.attr(inv["customer_id"], "segment"),
                region=ctx.attr(inv["customer_id"], "region"),
            )
        )
    return out


def _bookings(ctx: Context) -> list[dict]:
    out = []
    for d, b in ctx.reported("bookings", "booked_at"):
        tcv = Fraction(ctx.to_reporting(b["total_contract_value"], b["currency"], d))
        cm = b["contract_months"]
        out.append(
            dict(
                b,
                day=d,
                month=month_of(d),
                quarter=quarter_of(d),
                value=tcv,
                acv=float(tcv) * 12 / max(cm, 12),
                band="monthly" if cm < 12 else ("annual" if cm == 12 else "multi_year"),
                rep=b["sales_rep_id"] or UNKNOWN,
                product=b["product"] or UNKNOWN,
                revenue_type=b["revenue_type"] or UNKNOWN,
            )
        )
    return out


def _complete(ctx: Context, m: date) -> bool:
    return month_end(m) <= ctx.as_of


def _mix(ctx: Context, rev: list[dict], dim: str | None) -> list[dict]:
    if not rev:
        return []
    months = months_between(min(r["month"] for r in rev), ctx.as_of)
    types = sorted({r["revenue_type"] for r in rev})
    values = sorted({r[dim] for r in rev}) if dim else [None]
    cell: dict[tuple, list] = defaultdict(lambda: [ZERO, 0])
    for r in rev:
        c = cell[(r["month"], r[dim] if dim else None, r["revenue_type"])]
        c[0] += r["revenue"]
        c[1] += 1
    out = []
    for m in months:
        month_total = sum((cell[(m, v, t)][0] for v in values for t in types), ZERO)
        for v in values:
            part = sum((cell[(m, v, t)][0] for t in types), ZERO)
            for t in types:
                amount, n = cell[(m, v, t)]
                row = {
                    "month": m,
                    "revenue_type": t,
                    "revenue": amount,
                    "invoices": n,
                    "is_complete_month": _complete(ctx, m),
                }
                if dim:
                    row.update(
                        {
                            dim: v,
                            "share": ratio(amount, part),
                            "share_of_month_revenue": ratio(amount, month_total),
                            f"{dim}_revenue": part,
                        }
                    )
                else:
                    row.update(share=ratio(amount, month_total), month_revenue=month_total)
                out.append(row)
    return out


def revenue_by_segment_monthly(ctx: Context, rev: list[dict]) -> list[dict]:
    if not rev:
        return []
    segments = sorted({r["segment"] for r in rev})
    out = []
    for m in months_between(min(r["month"] for r in rev), ctx.as_of):
        for s in segments:
            rows = [r for r in rev if r["month"] == m and r["segment"] == s]
            out.append(
                {
                    "month": m,
                    "segment": s,
                    "revenue": sum((r["revenue"] for r in rows), ZERO),
                    "paying_customers": len({r["customer_id"] for r in rows}),
                    "is_complete_month": _complete(ctx, m),
                }
            )
    return out


def customer_tiers(ctx: Context, rev: list[dict], revenue: Revenue) -> list[dict]:
    """Trailing 12 months: the as-of month and the 11 before it (revenue is a monthly
    figure: paid invoices in the month issued), through as_of_date. Ranked by that revenue;
    customers with equal revenue share a rank and a tier. Tier from the revenue of the
    customers ranked strictly before: A while < tier_a_share of the total, B while <
    tier_a_share + tier_b_share, else C."""
    a = Fraction(str(float(ctx.config.var("tier_a_share"))))
    b = Fraction(str(float(ctx.config.var("tier_b_share"))))
    end_month = month_of(ctx.as_of)
    start = add_months(end_month, -11)
    window_rev: dict[str, Fraction] = defaultdict(Fraction)
    for r in rev:
        if start <= r["month"] <= end_month:
            window_rev[r["customer_id"]] += r["revenue"]
    churn: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for mv in revenue.movements:
        if mv.kind == "churn" and start <= mv.day <= ctx.as_of:
            churn[mv.customer_id][0] += 1
            churn[mv.customer_id][1] += mv.amount
    population = set(window_rev) | set(churn)
    total = sum(window_rev.values(), ZERO)
    out = []
    for cust in population:
        mine = window_rev.get(cust, ZERO)
        before = sum((v for c, v in window_rev.items() if v > mine), ZERO)
        through = sum((v for c, v in window_rev.items() if v >= mine), ZERO)
        rank = 1 + sum(1 for c in population if window_rev.get(c, ZERO) > mine)
        if total <= 0:
            tier = "C"
        elif before < a * total:
            tier = "A"
        elif before < (a + b) * total:
            tier = "B"
        else:
            tier = "C"
        out.append(
            {
                "customer_id": cust,
                "tier": tier,
                "revenue_rank": rank,
                "revenue_t12m": mine,
                "share_of_revenue": ratio(mine, total),
                "cumulative_share_before": ratio(before, total),
                "cumulative_share": ratio(through, total),
                "churned_movements": churn[cust][0] if cust in churn else 0,
                "churned_mrr": churn[cust][1] if cust in churn else ZERO,
                "segment": ctx.attr(cust, "segment"),
                "region": ctx.attr(cust, "region"),
                "window_start": start,
                "window_end": ctx.as_of,
            }
        )
    return out


def customer_tiers_summary(tiers: list[dict]) -> list[dict]:
    total_n = len(tiers)
    total_rev = sum((t["revenue_t12m"] for t in tiers), ZERO)
    out = []
    for name in "ABC":
        rows = [t for t in tiers if t["tier"] == name]
        revenue = sum((t["revenue_t12m"] for t in rows), ZERO)
        out.append(
            {
                "tier": name,
                "customers": len(rows),
                "share_of_customers": ratio(len(rows), total_n),
                "revenue": revenue,
                "share_of_revenue": ratio(revenue, total_rev),
                "churned_customers": sum(t["churned_movements"] for t in rows),
                "churned_distinct_customers": sum(1 for t in rows if t["churned_movements"]),
                "churned_mrr": sum((t["churned_mrr"] for t in rows), ZERO),
            }
        )
    return out


def bookings_vs_revenue_monthly(ctx: Context, rev: list[dict], bookings: list[dict]) -> list[dict]:
    firsts = [r["month"] for r in rev] + [b["month"] for b in bookings]
    if not firsts:
        return []
    out = []
    for m in months_between(min(firsts), ctx.as_of):
        bs = [b for b in bookings if b["month"] == m]
        revenue = sum((r["revenue"] for r in rev if r["month"] == m), ZERO)
        value = sum((b["value"] for b in bs), ZERO)
        out.append(
            {
                "month": m,
                "bookings_count": len(bs),
                "bookings_value": value,
                "new_business_bookings_value": sum(
                    (b["value"] for b in bs if b["is_new_business"]), ZERO
                ),
                "acv": sum(b["acv"] for b in bs) / len(bs) if bs else None,
                "revenue": revenue,
                "book_to_bill_ratio": ratio(value, revenue),
                "is_complete_month": _complete(ctx, m),
            }
        )
    return out


def _seed(ctx: Context, name: str) -> list[dict]:
    with open(ctx.config.seeds_dir / f"{name}.csv") as f:
        return list(csv.DictReader(f))


def sales_rep_performance_quarterly(ctx: Context, bookings: list[dict]) -> list[dict]:
    if not bookings:
        return []
    names = {r["sales_rep_id"]: r["rep_name"] for r in _seed(ctx, "sales_reps")}
    quotas: dict[tuple, float] = defaultdict(float)
    for q in _seed(ctx, "sales_quotas"):
        quotas[(q["sales_rep_id"], date.fromisoformat(q["quarter_start"]))] += float(
            q["quota_amount"]
        )
    first, last = min(b["quarter"] for b in bookings), quarter_of(ctx.as_of)
    cells: dict[tuple, list] = defaultdict(lambda: [ZERO, 0])
    for b in bookings:
        c = cells[(b["rep"], b["quarter"])]
        c[0] += b["value"]
        c[1] += 1
    keys = set(cells) | {k for k in quotas if first <= k[1] <= last}
    out = []
    for rep, q in keys:
        value, n = cells.get((rep, q), [ZERO, 0])
        quota = quotas.get((rep, q))
        out.append(
            {
                "sales_rep_id": rep,
                "rep_name": names.get(rep, UNKNOWN),
                "quarter_start": q,
                "bookings": value,
                "bookings_count": n,
                "quota": quota,
                "attainment": ratio(value, quota),
                "is_complete_quarter": month_end(add_months(q, 2)) <= ctx.as_of,
            }
        )
    return out


def sales_rep_mix(ctx: Context, bookings: list[dict]) -> list[dict]:
    names = {r["sales_rep_id"]: r["rep_name"] for r in _seed(ctx, "sales_reps")}
    cells: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for b in bookings:
        c = cells[(b["rep"], b["product"], b["band"], b["revenue_type"])]
        c[0] += 1
        c[1] += b["value"]
    rep_total: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for (rep, *_), (n, v) in cells.items():
        rep_total[rep][0] += n
        rep_total[rep][1] += v
    return [
        {
            "sales_rep_id": rep,
            "rep_name": names.get(rep, UNKNOWN),
            "product": p,
            "contract_band": band,
            "revenue_type": t,
            "bookings_count": n,
            "bookings_value": v,
            "share_of_rep_bookings": ratio(v, rep_total[rep][1]),
            "share_of_rep_bookings_count": ratio(n, rep_total[rep][0]),
        }
        for (rep, p, band, t), (n, v) in cells.items()
    ]


def customer_lifetime_value_by_segment(ctx: Context, dim_customers: list[dict]) -> list[dict]:
    """Per customer, paid revenue to date x gross_margin (dim_customers.observed_ltv); per
    segment the mean over its customers (dim_customers), those who never paid count 0.
    mean_observed_ltv_paying: the mean over the customers with revenue."""
    gm = float(ctx.config.var("gross_margin"))
    by_seg: dict[str, list[Fraction]] = defaultdict(list)
    for c in dim_customers:
        by_seg[c["segment"]].append(Fraction(c["lifetime_revenue"]))
    out = []
    for seg, values in by_seg.items():
        paying = [v for v in values if v > 0]
        total = sum(values, ZERO)
        out.append(
            {
                "segment": seg,
                "customers": len(values),
                "paying_customers": len(paying),
                "revenue_to_date": total,
                "observed_ltv_total": float(total) * gm,
                "mean_observed_ltv": float(total) / len(values) * gm,
                "mean_observed_ltv_paying": float(sum(paying, ZERO)) / len(paying) * gm
                if paying
                else None,
            }
        )
    return out


def buying_trend_monthly(ctx: Context, by_segment: list[dict]) -> list[dict]:
    alpha = float(ctx.config.var("smoothing_alpha"))
    horizon = int(ctx.config.var("forecast_months"))
    out = []
    for seg in sorted({r["segment"] for r in by_segment}):
        rows = sorted(
            (r for r in by_segment if r["segment"] == seg and r["is_complete_month"]),
            key=lambda r: r["month"],
        )
        xs = [float(r["revenue"]) for r in rows]
        s_prev, errors = None, []
        for t, (r, x) in enumerate(zip(rows, xs, strict=True)):
            if s_prev is not None:
                errors.append(x - s_prev)
            s = x if s_prev is None else alpha * x + (1 - alpha) * s_prev
            out.append(
                {
                    "segment": seg,
                    "month": r["month"],
                    "revenue": x,
                    "moving_avg_3m": sum(xs[t - 2 : t + 1]) / 3 if t >= 2 else None,
                    "smoothed": s,
                    "is_forecast": False,
                    "forecast": None,
                    "forecast_low": None,
                    "forecast_high": None,
                }
            )
            s_prev = s
        if not rows:
            continue
        sigma = math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else None
        for h in range(1, horizon + 1):
            half = None if sigma is None else 1.96 * sigma * math.sqrt(1 + (h - 1) * alpha**2)
            out.append(
                {
                    "segment": seg,
                    "month": add_months(rows[-1]["month"], h),
                    "revenue": None,
                    "moving_avg_3m": None,
                    "smoothed": None,
                    "is_forecast": True,
                    "forecast": s_prev,
                    "forecast_low": None if half is None else max(s_prev - half, 0.0),
                    "forecast_high": None if half is None else s_prev + half,
                }
            )
    return out


def compute(ctx: Context, revenue: Revenue, dim_customers: list[dict]) -> dict[str, list[dict]]:
    rev = _revenue(ctx)
    bookings = _bookings(ctx)
    tiers = customer_tiers(ctx, rev, revenue)
    by_segment = revenue_by_segment_monthly(ctx, rev)
    return {
        "revenue_mix_monthly": _mix(ctx, rev, None),
        "revenue_mix_by_region_monthly": _mix(ctx, rev, "region"),
        "revenue_mix_by_product_monthly": _mix(ctx, rev, "product"),
        "revenue_by_segment_monthly": by_segment,
        "customer_tiers": tiers,
        "customer_tiers_summary": customer_tiers_summary(tiers),
        "bookings_vs_revenue_monthly": bookings_vs_revenue_monthly(ctx, rev, bookings),
        "sales_rep_performance_quarterly": sales_rep_performance_quarterly(ctx, bookings),
        "sales_rep_mix": sales_rep_mix(ctx, bookings),
        "customer_lifetime_value_by_segment": customer_lifetime_value_by_segment(
            ctx, dim_customers
        ),
        "buying_trend_monthly": buying_trend_monthly(ctx, by_segment),
    }
