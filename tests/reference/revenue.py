"""Revenue marts from docs/METRICS.md (Revenue, Churn and retention, Unit economics, Customer
cohorts), walking each customer's MRR day by day in exact fractions."""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from tests.reference.base import Context
from tests.reference.common import month_end, month_of, months_between, ratio

ZERO = Fraction(0)
MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass
class Movement:
    customer_id: str
    day: date
    kind: str
    amount: Fraction
    before: Fraction
    after: Fraction


class Revenue:
    """Customer MRR at the end of any day, the daily movements and the month series."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        as_of = ctx.as_of
        events = [
            e
            for e in ctx.rows["subscription_events"]
            if as_of is not None and ctx.day(e["effective_at"]) <= as_of
        ]
        by_sub: dict[str, list[dict]] = defaultdict(list)
        for e in sorted(
            events,
            key=lambda e: (e["effective_at"], e["occurred_at"] or e["effective_at"], e["_order"]),
        ):
            by_sub[e["subscription_id"]].append(e)
        # end-of-day MRR of each subscription on the days its state changes
        sub_points: dict[str, dict[date, Fraction]] = {}
        sub_customer: dict[str, str] = {}
        # each subscription's end-of-day states: the days and their (MRR, plan)
        self.sub_days: dict[str, list[date]] = {}
        self.sub_states: dict[str, list[tuple[Fraction, str]]] = {}
        for sub, evs in by_sub.items():
            sub_customer[sub] = evs[0]["customer_id"]
            points: dict[date, Fraction] = {}
            states: dict[date, tuple[Fraction, str]] = {}
            for e in evs:  # later events of a day overwrite earlier ones: the day's last state
                points[ctx.day(e["effective_at"])] = self._state_mrr(e)
                states[ctx.day(e["effective_at"])] = (self._state_mrr(e), e["plan_id"] or "unknown")
            sub_points[sub] = points
            self.sub_days[sub] = sorted(states)
            self.sub_states[sub] = [states[d] for d in self.sub_days[sub]]
        self.first_day = min((ctx.day(e["effective_at"]) for e in events), default=None)
        # customer MRR change points
        subs_of: dict[str, list[str]] = defaultdict(list)
        for sub, cust in sub_customer.items():
            subs_of[cust].append(sub)
        self.change_days: dict[str, list[date]] = {}
        self.change_mrr: dict[str, list[Fraction]] = {}
        self.movements: list[Movement] = []
        for cust, subs in subs_of.items():
            days = sorted({d for s in subs for d in sub_points[s]})
            current = {s: ZERO for s in subs}
            previous, active_before = ZERO, False
            cdays, cmrr = [], []
            for d in days:
                for s in subs:
                    if d in sub_points[s]:
                        current[s] = sub_points[s][d]
                total = sum(current.values(), ZERO)
                cdays.append(d)
                cmrr.append(total)
                p, c = previous, total
                if p != c:
                    if p == 0:
                        kind, amount = ("reactivation" if active_before else "new"), c
                    elif c == 0:
                        kind, amount = "churn", p
                    elif c > p:
                        kind, amount = "expansion", c - p
                    else:
                        kind, amount = "contraction", p - c
                    self.movements.append(Movement(cust, d, kind, amount, p, c))
                active_before = active_before or c > 0
                previous = total
            self.change_days[cust] = cdays
            self.change_mrr[cust] = cmrr
        self.movements.sort(key=lambda m: (m.customer_id, m.day))
        self.months = (
            months_between(self.first_day, as_of)
            if self.first_day is not None and self.first_day <= as_of
            else []
        )

    def _state_mrr(self, e: dict) -> Fraction:
        if e["event_type"] == "canceled":
            return ZERO
        price = max(
            e["unit_amount"] * (e["quantity"] if e["quantity"] is not None else 1)
            - (e["discount_amount"] or 0.0),
            0.0,
        )
        monthly = price / MONTHS[e["billing_period"] or "month"]
        return Fraction(
            self.ctx.to_reporting(monthly, e["currency"], self.ctx.day(e["effective_at"]))
        )

    def mrr(self, cust: str, d: date) -> Fraction:
        """The customer's MRR at the end of day d."""
        days = self.change_days.get(cust)
        if not days:
            return ZERO
        i = bisect_right(days, d)
        return self.change_mrr[cust][i - 1] if i else ZERO

    def customers(self) -> list[str]:
        return sorted(self.change_days)

    def closing(self, m: date) -> date:
        return min(month_end(m), self.ctx.as_of)

    def opening(self, m: date) -> date:
        return m - timedelta(days=1)

    def dims(self, cust: str) -> tuple[str, str, str]:
        return tuple(self.ctx.attr(cust, k) for k in ("segment", "region", "acquisition_channel"))


# The MRR bridge column of each movement kind.
KIND_COLUMN = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
}
MOVEMENT_COLUMNS = tuple(KIND_COLUMN.values())
BRIDGE = (
    "mrr_start",
    *MOVEMENT_COLUMNS,
    "mrr_end",
    "customers_start",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
    "customers_end",
)
KIND_COUNT = {
    "new": "new_customers",
    "reactivation": "reactivated_customers",
    "churn": "churned_customers",
}


def _bridge_rows(rev: Revenue) -> tuple[dict[date, dict], dict[tuple, dict]]:
    company: dict[date, dict] = {}
    segments: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(BRIDGE, 0))
    for m in rev.months:
        row = dict.fromkeys(BRIDGE, 0)
        row.update(retained=0, nrr=ZERO, grr=ZERO)
        for cust in rev.customers():
            s, e = rev.mrr(cust, rev.opening(m)), rev.mrr(cust, rev.closing(m))
            if s == 0 and e == 0:
                continue
            seg = segments[(m, *rev.dims(cust))]
            for target in (row, seg):
                target["mrr_start"] += s
                target["mrr_end"] += e
                target["customers_start"] += int(s > 0)
                target["customers_end"] += int(e > 0)
            if s > 0:
                row["retained"] += int(e > 0)
                row["nrr"] += e
                row["grr"] += min(e, s)
        company[m] = row
    for mv in rev.movements:
        m = month_of(mv.day)
        for target in (company[m], segments[(m, *rev.dims(mv.customer_id))]):
            target[KIND_COLUMN[mv.kind]] += mv.amount
            if mv.kind in KIND_COUNT:
                target[KIND_COUNT[mv.kind]] += 1
    return company, dict(segments)


def _with_net(row: dict) -> dict:
    row["net_new_mrr"] = row["mrr_end"] - row["mrr_start"]
    row["arr_end"] = 12 * row["mrr_end"]
    return row


def saas_metrics_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    company, _ = _bridge_rows(rev)
    gm = float(ctx.config.var("gross_margin"))
    window = int(ctx.config.var("ltv_churn_window_months"))
    spend: dict[date, float] = defaultdict(float)
    nb_spend: dict[date, float] = defaultdict(float)
    for r in ctx.rows["marketing_spend"]:  # never deduplicated
        if r["spend_date"] <= ctx.as_of:
            amount = ctx.to_reporting(r["amount"], r["currency"], r["spend_date"])
            spend[month_of(r["spend_date"])] += amount
            if r["motion"] == "new_business":
                nb_spend[month_of(r["spend_date"])] += amount
    out, churn_rates = [], []
    for m in rev.months:
        r = company[m]
        losses = r["churned_mrr"] + r["contraction_mrr"]
        gains = r["new_mrr"] + r["expansion_mrr"] + r["reactivation_mrr"]
        logo = ratio(r["churned_customers"], r["customers_start"])
        churn_rates.append(logo)
        rates = [x for x in churn_rates[-window:] if x is not None]
        mean = sum(rates) / len(rates) if rates else None
        arpa = ratio(r["mrr_end"], r["customers_end"])
        ltv = None if arpa is None or not mean else arpa * gm / mean
        cac = ratio(spend[m], r["new_customers"])
        per_new = ratio(r["new_mrr"], r["new_customers"])
        row = {k: r[k] for k in BRIDGE}
        _with_net(row)
        row.update(
            month=m,
            arpa=arpa,
            logo_churn_rate=logo,
            customer_retention_rate=ratio(r["retained"], r["customers_start"]),
            gross_mrr_churn_rate=ratio(losses, r["mrr_start"]),
            net_mrr_churn_rate=ratio(
                losses - r["expansion_mrr"] - r["reactivation_mrr"], r["mrr_start"]
            ),
            net_revenue_retention=ratio(r["nrr"], r["mrr_start"]),
            gross_revenue_retention=ratio(r["grr"], r["mrr_start"]),
            quick_ratio=ratio(gains, losses),
            ltv=ltv,
            sales_marketing_spend=spend[m],
            cac=cac,
            ltv_to_cac=None if ltv is None else ratio(ltv, cac),
            cac_payback_months=None if cac is None or per_new is None else ratio(cac, per_new * gm),
            cac_new_business=ratio(nb_spend[m], r["new_customers"]),
            new_business_spend=nb_spend[m],
        )
        out.append(row)
    return out


def mrr_movements_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    _, segments = _bridge_rows(rev)
    out = []
    for (m, seg, region, channel), r in segments.items():
        if all(v == 0 for v in r.values()):
            continue
        out.append(
            _with_net(dict(r, month=m, segment=seg, region=region, acquisition_channel=channel))
        )
    return out


def customer_cohorts_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    cohort_of = {mv.customer_id: month_of(mv.day) for mv in rev.movements if mv.kind == "new"}
    members: dict[date, list[str]] = defaultdict(list)
    for cust, cm in cohort_of.items():
        members[cm].append(cust)
    out = []
    for cm, custs in sorted(members.items()):
        start = sum((rev.mrr(c, rev.closing(cm)) for c in custs), ZERO)
        for k, m in enumerate(x for x in rev.months if x >= cm):
            ends = [rev.mrr(c, rev.closing(m)) for c in custs]
            active = sum(1 for e in ends if e > 0)
            mrr = sum(ends, ZERO)
            out.append(
                {
                    "cohort_month": cm,
                    "months_since_start": k,
                    "cohort_customers": len(custs),
                    "active_customers": active,
                    "logo_retention": ratio(active, len(custs)),
                    "cohort_start_mrr": start,
                    "mrr": mrr,
                    "revenue_retention": ratio(mrr, start),
                }
            )
    return out


def fct_mrr_movements(ctx: Context, rev: Revenue) -> list[dict]:
    out = []
    for mv in rev.movements:
        seg, region, channel = rev.dims(mv.customer_id)
        out.append(
            {
                "customer_id": mv.customer_id,
                "movement_date": mv.day,
                "movement_month": month_of(mv.day),
                "movement_type": mv.kind,
                "amount": mv.amount,
                "mrr_change": mv.after - mv.before,
                "mrr_before": mv.before,
                "mrr_after": mv.after,
                "segment": seg,
                "region": region,
                "acquisition_channel": channel,
            }
        )
    return out


def paid_invoices(ctx: Context) -> list[dict]:
    """Recognised revenue: paid invoices issued through as_of_date, reporting currency at
    the issue day's rate, with the issue day (reporting time zone)."""
    out = []
    for d, r in ctx.reported("invoices", "issued_at"):
        if r["status"] == "paid":
            out.append(
                dict(
                    r,
                    issued_date=d,
                    revenue=Fraction(ctx.to_reporting(r["amount"], r["currency"], d)),
                )
            )
    return out


def dim_customers(ctx: Context, rev: Revenue) -> list[dict]:
    gm = float(ctx.config.var("gross_margin"))
    lifetime: dict[str, Fraction] = defaultdict(Fraction)
    for inv in paid_invoices(ctx):
        lifetime[inv["customer_id"]] += inv["revenue"]
    known = {c for c, r in ctx.customers.items() if ctx.day(r["created_at"]) <= ctx.as_of}
    known |= set(rev.customers()) | set(lifetime)
    first_paid = {}
    last_churn = {}
    for mv in rev.movements:
        if mv.kind == "new":
            first_paid.setdefault(mv.customer_id, mv.day)
        if mv.kind == "churn":
            last_churn[mv.customer_id] = mv.day
    out = []
    for cust in sorted(known):
        crm = ctx.customers.get(cust)
        current = rev.mrr(cust, ctx.as_of)
        status = "active" if current > 0 else ("churned" if cust in first_paid else "never_paid")
        out.append(
            {
                "customer_id": cust,
                "customer_name": crm["name"] if crm else None,
                "segment": ctx.attr(cust, "segment"),
                "region": ctx.attr(cust, "region"),
                "country": ctx.attr(cust, "country"),
                "acquisition_channel": ctx.attr(cust, "acquisition_channel"),
                "sales_rep_id": crm["sales_rep_id"] if crm else None,
                "created_date": ctx.day(crm["created_at"]) if crm else None,
                "first_paid_date": first_paid.get(cust),
                "cohort_month": month_of(first_paid[cust]) if cust in first_paid else None,
                "current_mrr": current,
                "lifetime_revenue": lifetime[cust],
                "observed_ltv": float(lifetime[cust]) * gm,
                "status": status,
                "churned_date": last_churn.get(cust) if status == "churned" else None,
            }
        )
    return out


def cac_by_channel_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    cells: dict[tuple, dict] = defaultdict(
        lambda: {"spend": 0.0, "new_business_spend": 0.0, "new_customers": 0}
    )
    for r in ctx.rows["marketing_spend"]:
        if r["spend_date"] <= ctx.as_of:
            amount = ctx.to_reporting(r["amount"], r["currency"], r["spend_date"])
            cell = cells[(month_of(r["spend_date"]), r["channel"])]
            cell["spend"] += amount
            if r["motion"] == "new_business":
                cell["new_business_spend"] += amount
    for mv in rev.movements:
        if mv.kind == "new":
            cells[(month_of(mv.day), ctx.attr(mv.customer_id, "acquisition_channel"))][
                "new_customers"
            ] += 1
    return [
        dict(c, month=m, channel=ch, cac=ratio(c["spend"], c["new_customers"]))
        for (m, ch), c in cells.items()
    ]


def acv_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    per_month: dict[date, list[tuple[float, float]]] = defaultdict(list)
    for d, b in ctx.reported("bookings", "booked_at"):
        tcv = ctx.to_reporting(b["total_contract_value"], b["currency"], d)
        per_month[month_of(d)].append((tcv, tcv * 12 / max(b["contract_months"], 12)))
    if not per_month:
        return []
    out = []
    for m in months_between(min(per_month), ctx.as_of):
        rows = per_month.get(m, [])
        out.append(
            {
                "month": m,
                "bookings": len(rows),
                "total_contract_value": sum(t for t, _ in rows),
                "acv": sum(a for _, a in rows) / len(rows) if rows else None,
            }
        )
    return out


def mrr_by_plan_monthly(ctx: Context, rev: Revenue) -> list[dict]:
    """MRR by plan: per month, each subscription's MRR at the end of the month (of as_of_date
    for the as-of month) under the plan of its state then; every plan with MRR at the end of
    some month, in every month (0 when none); plan name, tier and product from the plans
    seed ('unknown' for a plan it does not list)."""
    by_month: dict[tuple[date, str], list[Fraction]] = defaultdict(list)
    for sub, days in rev.sub_days.items():
        for m in rev.months:
            i = bisect_right(days, rev.closing(m))
            if i:
                mrr, plan = rev.sub_states[sub][i - 1]
                if mrr > 0:
                    by_month[(m, plan)].append(mrr)
    with open(ctx.config.seeds_dir / "plans.csv") as f:
        seed = {r["plan_id"]: r for r in csv.DictReader(f)}
    out = []
    for plan in sorted({plan for _, plan in by_month}):
        info = seed.get(plan, {})
        for m in rev.months:
            mrrs = by_month.get((m, plan), [])
            out.append({
                "month": m,
                "plan_id": plan,
                "plan_name": info.get("plan_name") or "unknown",
                "tier": info.get("tier") or "unknown",
                "product": info.get("product") or "unknown",
                "mrr_end": sum(mrrs, ZERO),
                "active_subscriptions": len(mrrs),
            })
    return out


def compute(ctx: Context, rev: Revenue) -> dict[str, list[dict]]:
    return {
        "mrr_by_plan_monthly": mrr_by_plan_monthly(ctx, rev),
        "saas_metrics_monthly": saas_metrics_monthly(ctx, rev),
        "mrr_movements_monthly": mrr_movements_monthly(ctx, rev),
        "customer_cohorts_monthly": customer_cohorts_monthly(ctx, rev),
        "fct_mrr_movements": fct_mrr_movements(ctx, rev),
        "dim_customers": dim_customers(ctx, rev),
        "cac_by_channel_monthly": cac_by_channel_monthly(ctx, rev),
        "acv_monthly": acv_monthly(ctx, rev),
    }
