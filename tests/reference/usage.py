"""Usage, growth and satisfaction marts from docs/METRICS.md (Usage, Satisfaction, Growth and
delivery) by brute force: sets of active users per day, unions over windows."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

from tests.reference.base import UNKNOWN, Context
from tests.reference.common import add_months, month_of, months_between, ratio, week_of
from tests.reference.revenue import paid_invoices


def _list_var(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    return [str(x) for x in value]


class Usage:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        as_of = ctx.as_of
        self.events = [dict(e, day=ctx.day(e["occurred_at"])) for e in ctx.rows["product_events"]]
        self.events = [e for e in self.events if e["day"] <= as_of]
        passive = set(_list_var(ctx.config.var("passive_events")))
        self.active: dict[date, set[str]] = defaultdict(set)
        for e in self.events:
            if e["user_id"] is not None and e["event_name"] not in passive:
                self.active[e["day"]].add(e["user_id"])
        self.users = [dict(u, day=ctx.day(u["signed_up_at"])) for u in ctx.rows["users"]]
        self.users = [u for u in self.users if u["day"] <= as_of]
        firsts = [e["day"] for e in self.events] + [u["day"] for u in self.users]
        self.first_day = min(firsts) if firsts else None

    def calendar(self) -> list[date]:
        if self.first_day is None:
            return []
        n = (self.ctx.as_of - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(n + 1)]

    def active_between(self, first: date, last: date) -> set[str]:
        out: set[str] = set()
        d = first
        while d <= last:
            out |= self.active.get(d, set())
            d += timedelta(days=1)
        return out

    def signed_up_through(self, d: date) -> int:
        return sum(1 for u in self.users if u["day"] <= d)


def product_usage_daily(u: Usage) -> list[dict]:
    out = []
    signups = defaultdict(int)
    for user in u.users:
        signups[user["day"]] += 1
    total = 0
    for d in u.calendar():
        dau = len(u.active.get(d, ()))
        wau = len(u.active_between(d - timedelta(days=6), d))
        mau = len(u.active_between(d - timedelta(days=29), d))
        total += signups[d]
        out.append(
            {
                "date": d,
                "dau": dau,
                "wau": wau,
                "mau": mau,
                "stickiness": ratio(dau, mau),
                "new_users": signups[d],
                "total_users": total,
                "active_pct_of_base": ratio(mau, total),
            }
        )
    return out


def _rollup(u: Usage, key: str, start_of, next_start) -> list[dict]:
    cal = u.calendar()
    if not cal:
        return []
    out = []
    p = start_of(cal[0])
    while p <= u.ctx.as_of:
        end = min(next_start(p) - timedelta(days=1), u.ctx.as_of)
        active = len(u.active_between(p, end))
        at_start = u.signed_up_through(p - timedelta(days=1))
        total = u.signed_up_through(end)
        new = total - at_start
        out.append(
            {
                key: p,
                "active_users": active,
                "new_users": new,
                "users_at_start": at_start,
                "total_users": total,
                "new_users_pct_of_base": ratio(new, total),
                "base_growth_pct": ratio(new, at_start),
                "active_pct_of_base": ratio(active, total),
            }
        )
        p = next_start(p)
    return out


def product_usage_weekly(u: Usage) -> list[dict]:
    return _rollup(u, "week_start", week_of, lambda w: w + timedelta(days=7))


def product_usage_monthly(u: Usage) -> list[dict]:
    return _rollup(u, "month", month_of, lambda m: add_months(m, 1))


def user_cohorts_monthly(u: Usage) -> list[dict]:
    members: dict[date, list[str]] = defaultdict(list)
    for user in u.users:
        members[month_of(user["day"])].append(user["user_id"])
    active_in: dict[date, set[str]] = defaultdict(set)
    for d, users in u.active.items():
        active_in[month_of(d)] |= users
    out = []
    for cm, ids in sorted(members.items()):
        for k, m in enumerate(months_between(cm, u.ctx.as_of)):
            n = len(set(ids) & active_in.get(m, set()))
            out.append(
                {
                    "cohort_month": cm,
                    "months_since_start": k,
                    "cohort_users": len(ids),
                    "active_users": n,
                    "user_retention": ratio(n, len(ids)),
                }
            )
    return out


def activation_monthly(u: Usage) -> list[dict]:
    """Activated: the activation event on a reporting day from the sign-up day through
    sign-up day + activation_window_days (both inclusive)."""
    name = u.ctx.config.var("activation_event")
    window = int(u.ctx.config.var("activation_window_days"))
    days_of: dict[str, list[date]] = defaultdict(list)
    for e in u.events:
        if e["event_name"] == name and e["user_id"] is not None:
            days_of[e["user_id"]].append(e["day"])
    cohorts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for user in u.users:
        c = cohorts[month_of(user["day"])]
        c[0] += 1
        c[1] += any(
            user["day"] <= d <= user["day"] + timedelta(days=window)
            for d in days_of.get(user["user_id"], [])
        )
    if not cohorts:
        return []
    out = []
    for m in months_between(min(cohorts), u.ctx.as_of):
        n, a = cohorts.get(m, [0, 0])
        out.append(
            {"signup_month": m, "users": n, "activated_users": a, "activation_rate": ratio(a, n)}
        )
    return out


def funnel_steps(ctx: Context) -> list[dict]:
    with open(ctx.config.seeds_dir / "funnel_steps.csv") as f:
        steps = [dict(r, step_order=int(r["step_order"])) for r in csv.DictReader(f)]
    return sorted(steps, key=lambda s: s["step_order"])


def funnel_monthly(u: Usage) -> list[dict]:
    """Actors: user_id; an anonymous event belongs to the user first seen with its
    anonymous_id on one event (earliest, ties by user_id); else the anonymous visitor.
    Month: the user's sign-up month, else the month of the actor's first event. In order:
    step k at or after step k-1; within the window: on a reporting day at most
    funnel_window_days after the day the actor entered (its first step-1 event)."""
    ctx = u.ctx
    window = int(ctx.config.var("funnel_window_days"))
    steps = funnel_steps(ctx)
    pair_first: dict[tuple[str, str], object] = {}
    for e in u.events:
        if e["anonymous_id"] is not None and e["user_id"] is not None:
            k = (e["anonymous_id"], e["user_id"])
            if k not in pair_first or e["occurred_at"] < pair_first[k]:
                pair_first[k] = e["occurred_at"]
    owner: dict[str, str] = {}
    for (anon, user), t in sorted(pair_first.items(), key=lambda kv: (kv[1], kv[0][1])):
        owner.setdefault(anon, user)
    signup = {user["user_id"]: user["day"] for user in u.users}
    all_signup = {r["user_id"]: ctx.day(r["signed_up_at"]) for r in ctx.rows["users"]}
    signup.update(all_signup)
    actor_events: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in u.events:
        if e["user_id"] is not None:
            actor = ("user", e["user_id"])
        elif e["anonymous_id"] in owner:
            actor = ("user", owner[e["anonymous_id"]])
        else:
            actor = ("anonymous", e["anonymous_id"])
        actor_events[actor].append(e)
    counts: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    months_seen = []
    for (kind, aid), evs in actor_events.items():
        if kind == "user" and aid in signup:
            month = month_of(signup[aid])
        else:
            month = month_of(min(e["day"] for e in evs))
        evs = sorted(evs, key=lambda e: e["occurred_at"])
        firsts = [e for e in evs if e["event_name"] == steps[0]["event_name"]]
        if not firsts:
            continue
        entered = firsts[0]
        months_seen.append(month)
        last_t = entered["occurred_at"]
        counts[(month, steps[0]["step_order"])][0] += 1
        counts[(month, steps[0]["step_order"])][1] += kind == "anonymous"
        for step in steps[1:]:
            nxt = [
                e
                for e in evs
                if e["event_name"] == step["event_name"]
                and e["occurred_at"] >= last_t
                and e["day"] <= entered["day"] + timedelta(days=window)
            ]
            if not nxt:
                break
            last_t = nxt[0]["occurred_at"]
            counts[(month, step["step_order"])][0] += 1
            counts[(month, step["step_order"])][1] += kind == "anonymous"
    if not months_seen:
        return []
    out = []
    for m in months_between(min(months_seen), ctx.as_of):
        first_users, prev = None, None
        for i, step in enumerate(steps):
            n, anon = counts.get((m, step["step_order"]), [0, 0])
            if i == 0:
                first_users = n
            out.append(
                {
                    "month": m,
                    "step_order": step["step_order"],
                    "step_name": step["step_name"],
                    "users": n,
                    "anonymous_visitors": anon,
                    "step_conversion_rate": None if i == 0 else ratio(n, prev),
                    "overall_conversion_rate": ratio(n, first_users),
                }
            )
            prev = n
    return out


def referral_monthly(u: Usage) -> list[dict]:
    name = u.ctx.config.var("referral_event")
    referrers: dict[date, set[str]] = defaultdict(set)
    for e in u.events:
        if e["event_name"] == name and e["user_id"] is not None:
            referrers[month_of(e["day"])].add(e["user_id"])
    out = []
    for row in product_usage_monthly(u):
        n = len(referrers.get(row["month"], ()))
        out.append(
            {
                "month": row["month"],
                "active_users": row["active_users"],
                "referring_users": n,
                "referral_rate": ratio(n, row["active_users"]),
            }
        )
    return out


def _by_month(ctx: Context, rows: list[dict], month) -> list[tuple[date, list[dict]]]:
    """(month, the rows of the month) for every month from the earliest row's month through
    the as-of month; none without rows. ``month(row)`` is a row's month."""
    if not rows:
        return []
    return [
        (m, [r for r in rows if month(r) == m])
        for m in months_between(min(month(r) for r in rows), ctx.as_of)
    ]


def _responses(ctx: Context, survey: str) -> list[dict]:
    return [
        dict(r, month=month_of(d))
        for d, r in ctx.reported("survey_responses", "responded_at")
        if r["survey"] == survey
    ]


def _nps_cell(scores: list[int]) -> dict:
    p = sum(1 for s in scores if s >= 9)
    pa = sum(1 for s in scores if 7 <= s <= 8)
    de = sum(1 for s in scores if s <= 6)
    return {
        "responses": len(scores),
        "promoters": p,
        "passives": pa,
        "detractors": de,
        "nps": None if not scores else float(Fraction(100 * (p - de), len(scores))),
    }


def _csat_cell(scores: list[int]) -> dict:
    sat = sum(1 for s in scores if s >= 4)
    return {"responses": len(scores), "satisfied_responses": sat, "csat": ratio(sat, len(scores))}


def _survey_monthly(ctx: Context, survey: str, cell) -> list[dict]:
    """A row a month, from the month of the survey's first response through the as-of month:
    the month and ``cell`` of the month's scores."""
    return [
        dict(month=m, **cell([r["score"] for r in rows]))
        for m, rows in _by_month(ctx, _responses(ctx, survey), lambda r: r["month"])
    ]


def nps_monthly(ctx: Context) -> list[dict]:
    return _survey_monthly(ctx, "nps", _nps_cell)


def nps_by_segment_monthly(ctx: Context) -> list[dict]:
    rs = _responses(ctx, "nps")
    if not rs:
        return []
    user_customer = {r["user_id"]: r["customer_id"] for r in ctx.rows["users"]}
    for r in rs:
        cust = r["customer_id"] if r["customer_id"] is not None else user_customer.get(r["user_id"])
        r["segment"] = ctx.attr(cust, "segment") if cust in ctx.customers else UNKNOWN
    segments = sorted({r["segment"] for r in rs})
    return [
        dict(
            month=m,
            segment=s,
            **_nps_cell([r["score"] for r in rs if r["month"] == m and r["segment"] == s]),
        )
        for m in months_between(min(r["month"] for r in rs), ctx.as_of)
        for s in segments
    ]


def csat_monthly(ctx: Context) -> list[dict]:
    return _survey_monthly(ctx, "csat", _csat_cell)


def _leads(ctx: Context) -> list[dict]:
    out = []
    for d, r in ctx.reported("leads", "created_at"):
        converted = r["converted_at"] is not None and ctx.day(r["converted_at"]) <= ctx.as_of
        out.append(
            {
                "month": month_of(d),
                "channel": r["channel"] or UNKNOWN,
                "qualified": r["is_qualified"] is not False,
                "converted": converted,
            }
        )
    return out


def leads_monthly(ctx: Context) -> list[dict]:
    out, prev = [], None
    for i, (m, rows) in enumerate(_by_month(ctx, _leads(ctx), lambda r: r["month"])):
        q = sum(r["qualified"] for r in rows)
        c = sum(r["converted"] for r in rows)
        velocity = None if i == 0 else ratio(100 * (q - prev), prev)
        out.append(
            {
                "month": m,
                "leads": len(rows),
                "qualified_leads": q,
                "converted_leads": c,
                "lead_to_customer_rate": ratio(c, len(rows)),
                "lead_velocity_rate_pct": velocity,
            }
        )
        prev = q
    return out


def lead_conversion_by_channel_monthly(ctx: Context) -> list[dict]:
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for r in _leads(ctx):
        cells[(r["month"], r["channel"])].append(r)
    out = []
    for (m, ch), rows in cells.items():
        c = sum(r["converted"] for r in rows)
        out.append(
            {
                "month": m,
                "channel": ch,
                "leads": len(rows),
                "qualified_leads": sum(r["qualified"] for r in rows),
                "converted_leads": c,
                "lead_to_customer_rate": ratio(c, len(rows)),
            }
        )
    return out


def _shipped(ctx: Context) -> list[dict]:
    out = []
    for r in ctx.rows["releases"]:
        if r["released_at"] is not None and ctx.day(r["released_at"]) <= ctx.as_of:
            out.append(dict(r, day=ctx.day(r["released_at"])))
    return out


def releases_monthly(ctx: Context) -> list[dict]:
    out = []
    for m, rows in _by_month(ctx, _shipped(ctx), lambda r: month_of(r["day"])):
        planned = [r for r in rows if r["planned_at"] is not None]
        on_time = [r for r in planned if r["released_at"] <= r["planned_at"]]
        late = [
            (r["day"] - ctx.day(r["planned_at"])).days if r["released_at"] > r["planned_at"] else 0
            for r in planned
        ]
        out.append(
            {
                "month": m,
                "releases_shipped": len(rows),
                "releases_with_plan": len(planned),
                "on_time_releases": len(on_time),
                "late_releases": len(planned) - len(on_time),
                "on_time_share": ratio(len(on_time), len(planned)),
                "mean_days_late": sum(late) / len(late) if late else None,
            }
        )
    return out


def new_product_revenue_monthly(ctx: Context) -> list[dict]:
    """New product: its first release (any release naming it) falls in the invoice's
    month or the 11 months before it (the trailing 12 months of the reported month)."""
    first_release: dict[str, date] = {}
    for r in _shipped(ctx):
        if r["product"] is not None:
            m = month_of(r["day"])
            first_release[r["product"]] = min(first_release.get(r["product"], m), m)
    out = []
    for m, rows in _by_month(ctx, paid_invoices(ctx), lambda i: month_of(i["issued_date"])):
        total = sum((i["revenue"] for i in rows), Fraction(0))
        new = sum(
            (
                i["revenue"]
                for i in rows
                if i["product"] in first_release
                and add_months(m, -11) <= first_release[i["product"]] <= m
            ),
            Fraction(0),
        )
        out.append(
            {
                "month": m,
                "revenue": total,
                "new_product_revenue": new,
                "new_product_revenue_share": ratio(new, total),
            }
        )
    return out


def compute(ctx: Context) -> dict[str, list[dict]]:
    u = Usage(ctx)
    return {
        "product_usage_daily": product_usage_daily(u),
        "product_usage_weekly": product_usage_weekly(u),
        "product_usage_monthly": product_usage_monthly(u),
        "user_cohorts_monthly": user_cohorts_monthly(u),
        "activation_monthly": activation_monthly(u),
        "funnel_monthly": funnel_monthly(u),
        "referral_monthly": referral_monthly(u),
        "nps_monthly": nps_monthly(ctx),
        "nps_by_segment_monthly": nps_by_segment_monthly(ctx),
        "csat_monthly": csat_monthly(ctx),
        "leads_monthly": leads_monthly(ctx),
        "lead_conversion_by_channel_monthly": lead_conversion_by_channel_monthly(ctx),
        "releases_monthly": releases_monthly(ctx),
        "new_product_revenue_monthly": new_product_revenue_monthly(ctx),
    }
