"""Subscription events, invoices and bookings derived from the spells.

One model feeds all three, so they agree: each subscription event sets the whole state;
an invoice is issued at the start of every billing period while the spell runs, for the
state in force then (``unit_amount * quantity - discount_amount``); a booking is signed
for each new subscription, each expansion and each services engagement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.generate import catalog as cat
from dagster_project.generate.timeline import (
    DAY,
    Timeline,
    first_in_group,
    grouped_cumsum,
    rng_for,
    take_rows,
)
from dagster_project.generate.world import Customers, Spells, boundary

S_CHANGES, S_INVOICES, S_BOOKINGS = 11, 12, 13

CREATED, CHANGED, CANCELED = 0, 1, 2
EVENT_TYPES = ("created", "changed", "canceled")
REVENUE_TYPES = ("subscription", "usage", "services", "one_time", "other")
STATUSES = ("paid", "open", "void", "refunded")


def local_price(plans: cat.PlanBook, tier: np.ndarray, period: np.ndarray,
                currency: np.ndarray) -> np.ndarray:
    """List price in the customer's currency (price books use whole units)."""
    return np.rint(plans.usd_price[tier, period] * cat.PRICE_FACTOR[currency])


@dataclass
class SubscriptionEvents:
    spell: np.ndarray
    sub: np.ndarray
    cust: np.ndarray
    etype: np.ndarray
    eff_t: np.ndarray
    occ_t: np.ndarray
    tier: np.ndarray
    period: np.ndarray
    unit: np.ndarray
    quantity: np.ndarray
    discount: np.ndarray
    currency: np.ndarray


def subscription_events(tl: Timeline, c: Customers, s: Spells, plans: cat.PlanBook,
                        seed: int) -> SubscriptionEvents:
    rng = rng_for(seed, S_CHANGES)
    n = len(s)
    cur = c.currency[s.cust]

    # Seat and plan changes: a Poisson number per spell, at uniform times between the
    # start and the cancellation request. Quantities move multiplicatively (mostly up).
    until = np.minimum(s.req_t, tl.world_end)
    span = np.maximum(until - s.start_t - DAY, 0)
    k = np.minimum(rng.poisson(s.change_rate * span / (30.44 * DAY)), 30)
    idx = np.repeat(np.arange(n), k)
    t = s.start_t[idx] + DAY + (rng.random(len(idx)) * span[idx]).astype(np.int64)
    order = np.lexsort((t, idx))
    idx, t = idx[order], t[order]
    up = rng.random(len(idx)) < s.p_up[idx]
    step = np.where(up, np.clip(rng.normal(0.15, 0.08, len(idx)), 0.04, None),
                    -np.clip(rng.normal(0.12, 0.06, len(idx)), 0.04, 0.5))
    q = np.maximum(1, np.rint(s.q0[idx] * np.exp(grouped_cumsum(step, idx)))).astype(np.int64)
    upgrades = grouped_cumsum((up & (rng.random(len(idx)) < 0.08)).astype(np.int64), idx)
    core = s.kind[idx] != 2
    tier = np.where(core, plans.best_tier(np.minimum(s.tier0[idx] + upgrades, 2), s.period[idx]),
                    s.tier0[idx])
    tier = np.maximum(tier, np.where(core, s.tier0[idx], 3))  # never a silent downgrade
    first = first_in_group(idx)
    prev_q = np.where(first, s.q0[idx], np.r_[0, q[:-1]])
    prev_tier = np.where(first, s.tier0[idx], np.r_[0, tier[:-1]])
    keep = (q != prev_q) | (tier != prev_tier)
    idx, t, q, tier = idx[keep], t[keep], q[keep], tier[keep]
    # Some changes are scheduled a few days ahead (e.g. seat reductions at renewal).
    sched = rng.random(len(idx)) < 0.25
    occ = np.where(sched, np.maximum(t - rng.integers(0, 4 * DAY, len(idx)), s.start_t[idx] + 1), t)

    canceled = np.flatnonzero(s.req_t < tl.world_end)
    # A cancellation names the plan it ends (its last tier); amounts are optional there.
    last_tier = s.tier0.copy()
    is_last = np.r_[idx[1:] != idx[:-1], True] if len(idx) else np.zeros(0, dtype=bool)
    last_tier[idx[is_last]] = tier[is_last]
    spell = np.r_[np.arange(n), idx, canceled]
    etype = np.r_[np.full(n, CREATED), np.full(len(idx), CHANGED), np.full(len(canceled), CANCELED)]
    eff = np.r_[s.start_t, t, s.eff_t[canceled]]
    occ_all = np.r_[s.start_t, occ, s.req_t[canceled]]
    tier_all = np.r_[s.tier0, tier, last_tier[canceled]]
    q_all = np.r_[s.q0, q, np.zeros(len(canceled), dtype=np.int64)]
    period = s.period[spell]
    currency = cur[spell]
    unit = local_price(plans, tier_all, period, currency)
    disc = np.round(s.disc_pct[spell] * unit * q_all, 2)
    ended = etype == CANCELED
    unit = np.where(ended, np.nan, unit)
    disc = np.where(ended, np.nan, disc)
    order = np.lexsort((s.sub[spell], eff, occ_all))  # landing order: when it happened
    return take_rows(SubscriptionEvents(
        spell=spell, sub=s.sub[spell], cust=s.cust[spell], etype=etype, eff_t=eff,
        occ_t=occ_all, tier=tier_all, period=period, unit=unit, quantity=q_all, discount=disc,
        currency=currency,
    ), order)


def _state_index(ev: SubscriptionEvents, spell: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index (into ``ev``) of the created/changed event in force for ``spell`` at ``t``."""
    live = np.flatnonzero(ev.etype != CANCELED)
    key = ev.spell[live] * (1 << 34) + ev.eff_t[live]
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], spell * (1 << 34) + t, side="right") - 1
    return live[order][pos]


@dataclass
class Invoices:
    cust: np.ndarray
    issued_t: np.ndarray
    amount: np.ndarray
    currency: np.ndarray
    rtype: np.ndarray
    status: np.ndarray
    product: np.ndarray


def _period_starts(tl: Timeline, start: np.ndarray, pm: np.ndarray, limit: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, k, time) of every billing period start ``start + k*pm months < limit``."""
    mb = tl.month_index(np.maximum(limit - 1, 0) // DAY) - tl.month_index(start // DAY)
    kmax = np.maximum(mb // pm + 1, 0) + 1
    owner = np.repeat(np.arange(len(start)), kmax)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(kmax) - kmax, kmax)
    bt = boundary(tl, start[owner], k * pm[owner])
    ok = bt < limit[owner]
    return owner[ok], k[ok], bt[ok]


def invoices(tl: Timeline, c: Customers, s: Spells, ev: SubscriptionEvents, seed: int) -> Invoices:
    rng = rng_for(seed, S_INVOICES)
    limit = np.minimum(s.eff_t, tl.world_end)
    sp, _, bt = _period_starts(tl, s.start_t, s.months, limit)
    st = _state_index(ev, sp, bt)
    amount = np.round(ev.unit[st] * ev.quantity[st] - ev.discount[st], 2)
    sub_issued = bt + rng.integers(0, 900, len(bt))

    # Usage overage of the analytics add-on, billed monthly in arrears.
    addon = np.flatnonzero(s.kind == 2)
    ua, uk, ut = _period_starts(tl, s.start_t[addon], np.ones(len(addon), dtype=np.int64),
                                limit[addon])
    bill = (uk >= 1) & (rng.random(len(ua)) < 0.4)
    ua, ut = addon[ua[bill]], ut[bill]
    u_amount = np.round(rng.gamma(2.0, 20.0 * np.sqrt(s.q0[ua])) * cat.PRICE_FACTOR[
        c.currency[s.cust[ua]]], 2) + 5.0

    # Onboarding services for larger accounts and setup fees for some smaller ones.
    seg = c.segment
    svc = np.flatnonzero(rng.random(c.n) < np.array([0.0, 0.25, 0.7])[seg])
    svc_usd = np.where(seg[svc] == 2, rng.uniform(5000, 40000, len(svc)),
                       rng.uniform(1500, 8000, len(svc)))
    svc_amount = np.round(svc_usd * cat.PRICE_FACTOR[c.currency[svc]], -2)
    svc_t = c.created_t[svc] + rng.integers(7, 45, len(svc)) * DAY + rng.integers(0, 3600, len(svc))
    one = np.flatnonzero((seg < 2) & (rng.random(c.n) < 0.15))
    one_amount = rng.choice([500.0, 1000.0, 1500.0], len(one)) * np.rint(
        cat.PRICE_FACTOR[c.currency[one]] * 20) / 20
    one_t = c.created_t[one] + rng.integers(600, 2 * DAY, len(one))

    cust = np.r_[s.cust[sp], s.cust[ua], svc, one]
    issued = np.r_[sub_issued, ut + rng.integers(0, 900, len(ut)), svc_t, one_t].astype(np.int64)
    amt = np.r_[amount, u_amount, svc_amount, one_amount]
    rtype = np.r_[np.zeros(len(sp)), np.ones(len(ua)), np.full(len(svc), 2),
                  np.full(len(one), 3)].astype(np.int64)
    product = np.r_[s.product[sp], np.ones(len(ua)), np.zeros(len(svc) + len(one))].astype(np.int64)
    # Most invoices are paid; recent ones are often still open.
    recent = issued >= (tl.days - 10) * DAY
    u = rng.random(len(cust))
    p_open = np.where(recent, 0.35, 0.03)
    status = np.select([u < p_open, u < p_open + 0.02, u < p_open + 0.03], [1, 2, 3], 0)
    keep = (amt > 0) & (issued < tl.world_end)
    order = np.lexsort((cust[keep], issued[keep]))
    return take_rows(Invoices(
        cust=cust, issued_t=issued, amount=amt, currency=c.currency[cust], rtype=rtype,
        status=status, product=product,
    ), np.flatnonzero(keep)[order])


@dataclass
class Bookings:
    cust: np.ndarray
    booked_t: np.ndarray
    contract_months: np.ndarray
    tcv: np.ndarray
    currency: np.ndarray
    rep: np.ndarray
    product: np.ndarray
    rtype: np.ndarray
    new_business: np.ndarray


def bookings(tl: Timeline, c: Customers, s: Spells, ev: SubscriptionEvents,
             inv: Invoices, seed: int) -> Bookings:
    rng = rng_for(seed, S_BOOKINGS)
    live = ev.etype != CANCELED
    mrr = np.where(live, (ev.unit * ev.quantity - np.nan_to_num(ev.discount))
                   / cat.PERIOD_MONTHS[ev.period], 0.0)
    # Previous state of the same spell, for the size of an expansion.
    order = np.lexsort((ev.eff_t, ev.spell))
    prev = np.zeros(len(ev.spell))
    srt = mrr[order]
    prev_sorted = np.r_[0.0, srt[:-1]]
    prev_sorted[first_in_group(ev.spell[order])] = 0.0
    prev[order] = prev_sorted
    cm = s.contract_months[ev.spell]
    created = ev.etype == CREATED
    expansion = (ev.etype == CHANGED) & (mrr > prev + 0.005)
    pick = created | expansion
    tcv = np.round(np.where(created, mrr, mrr - prev) * cm, 2)
    # Deals are signed up to two days before the subscription starts.
    # Win-backs and add-ons are signed up to two days before they start; a new logo's
    # first deal is what creates the account (no booking before its customer exists).
    lead_time = rng.integers(0, 2 * DAY, len(ev.eff_t))
    booked = np.where(created, np.maximum(ev.eff_t - lead_time, c.created_t[ev.cust]), ev.occ_t)
    new_biz = created & (s.kind[ev.spell] != 2)

    svc = inv.rtype == 2
    svc_t = inv.issued_t[svc] - (rng.uniform(1, 6, svc.sum()) * DAY).astype(np.int64)
    svc_t = np.where(svc_t < 0, inv.issued_t[svc] // 2, svc_t)
    cust = np.r_[ev.cust[pick], inv.cust[svc]]
    t = np.r_[booked[pick], svc_t].astype(np.int64)
    keep = t < tl.world_end
    out = Bookings(
        cust=cust,
        booked_t=t,
        contract_months=np.r_[cm[pick], np.ones(svc.sum(), dtype=np.int64)],
        tcv=np.r_[tcv[pick], inv.amount[svc]],
        currency=c.currency[cust],
        rep=c.rep_at(cust, t),
        product=np.r_[s.product[ev.spell[pick]], np.zeros(svc.sum(), dtype=np.int64)],
        rtype=np.r_[np.zeros(pick.sum()), np.full(svc.sum(), 2)].astype(np.int64),
        new_business=np.r_[new_biz[pick], np.zeros(svc.sum(), dtype=bool)],
    )
    order = np.lexsort((out.cust[keep], out.booked_t[keep]))
    return take_rows(out, np.flatnonzero(keep)[order])
