"""The simulated company: customers, their subscription spells, and their users.

Everything is drawn as numpy arrays (one element per customer, spell or user); no
Python loop runs per row. Hidden drivers tie the sources together: a customer's
``health`` lowers its churn, raises its expansion and its survey scores; acquisition
follows compounding growth and seasonality; users sign up while their account is paying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.generate import catalog as cat
from dagster_project.generate.timeline import DAY, MONTH_DAYS, Timeline, rng_for, take_rows

# Random stream ids (see rng_for).
S_CUSTOMERS, S_UPDATES, S_SPELLS, S_USERS = 1, 2, 3, 4

# Monthly hazard of deciding to cancel, per segment.
CHURN_HAZARD = np.array([0.035, 0.018, 0.008])
# Monthly rate of seat/plan changes, per segment.
CHANGE_RATE = np.array([0.04, 0.08, 0.10])


@dataclass
class Customers:
    n: int
    created_t: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    country: np.ndarray
    channel: np.ndarray
    rep: np.ndarray  # 1..8, 0 = self-serve (no rep)
    name_a: np.ndarray
    name_b: np.ndarray
    currency: np.ndarray
    health: np.ndarray
    # One later re-landed row with changed attributes (upd_t = -1: none).
    upd_t: np.ndarray
    upd_segment: np.ndarray
    upd_rep: np.ndarray
    upd_name_a: np.ndarray

    @property
    def created_day(self) -> np.ndarray:
        return self.created_t // DAY

    def rep_at(self, cust: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The customer's sales rep at time ``t`` (a re-landed row may reassign it)."""
        moved = (self.upd_t[cust] >= 0) & (self.upd_t[cust] <= t)
        return np.where(moved, self.upd_rep[cust], self.rep[cust])


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)


def local_business_time(rng: np.random.Generator, offset_min: np.ndarray, mean_h: float = 13.0,
                        sd_h: float = 2.5) -> np.ndarray:
    """Seconds after UTC midnight of a moment in local business hours, folded into the day
    (so the moment stays on the day it was drawn for)."""
    local = np.clip(rng.normal(mean_h, sd_h, len(offset_min)), 6.5, 22.5) * 3600
    return ((local - offset_min * 60).astype(np.int64)) % DAY


def draw_customers(tl: Timeline, n_customers: int, seed: int) -> Customers:
    rng = rng_for(seed, S_CUSTOMERS)
    w = tl.acquisition_weights()
    # Exactly n_customers are acquired in the landed window; the next day gets its own
    # expected share, so land_next_day adds a plausible number of new logos.
    days = np.sort(rng.choice(tl.days, size=n_customers, p=w[: tl.days] / w[: tl.days].sum()))
    extra = rng.poisson(n_customers * w[tl.days] / w[: tl.days].sum())
    day = np.r_[days, np.full(extra, tl.days)].astype(np.int64)
    n = len(day)

    segment = rng.choice(3, size=n, p=cat.SEGMENT_SHARE)
    region = rng.choice(3, size=n, p=cat.REGION_SHARE)
    shares = np.array([[c.share if c.region == r else 0.0 for c in cat.COUNTRIES] for r in range(3)])
    country = _choice_rows(rng, shares[region])
    channel = _choice_rows(rng, np.array(cat.CHANNEL_MIX)[segment])
    sales_led = (segment > 0) | (channel == 4) | ((channel == 3) & (rng.random(n) < 0.5))
    rep = np.where(sales_led, cat.REP_BY_SEGMENT_REGION[segment, region], 0)
    t = day * DAY + local_business_time(rng, cat.COUNTRY_OFFSET[country])
    order = np.argsort(t, kind="stable")  # customer ids follow creation order

    def o(a: np.ndarray) -> np.ndarray:
        return a[order]

    c = Customers(
        n=n,
        created_t=o(t),
        segment=o(segment),
        region=o(region),
        country=o(country),
        channel=o(channel),
        rep=o(rep),
        name_a=rng.integers(0, len(cat.NAME_WORDS_A), n),
        name_b=rng.integers(0, len(cat.NAME_WORDS_B), n),
        currency=cat.COUNTRY_CURRENCY[o(country)],
        health=rng.normal(0.0, 1.0, n),
        upd_t=np.full(n, -1, dtype=np.int64),
        upd_segment=np.zeros(n, dtype=np.int64),
        upd_rep=np.zeros(n, dtype=np.int64),
        upd_name_a=np.zeros(n, dtype=np.int64),
    )
    _draw_updates(tl, c, seed)
    return c


def _draw_updates(tl: Timeline, c: Customers, seed: int) -> None:
    """Some accounts change later: an SMB grows into mid-market (and gets a rep), a rep
    hands an account over, a company renames. The CRM lands the whole row again."""
    rng = rng_for(seed, S_UPDATES)
    n = c.n
    when = c.created_t + rng.integers(30, 400, n) * DAY + rng.integers(-3600, 3600, n)
    has = (rng.random(n) < 0.12) & (when < tl.world_end)
    kind = rng.random(n)
    upgrade = has & (c.segment == 0) & (kind < 0.5)
    reassign = has & ~upgrade & (c.rep > 0) & (kind < 0.8)
    seg = np.where(upgrade, 1, c.segment)
    rep = np.where(upgrade, cat.REP_BY_SEGMENT_REGION[1, c.region], c.rep)
    # A handover stays within the segment's team.
    seg_now = c.segment
    size = cat.TEAM_SIZE[seg_now]
    slot = cat.TEAM_SLOT_BY_REGION[seg_now, c.region]
    other_slot = (slot + 1 + rng.integers(0, 2, n) % (size - 1)) % size
    rep = np.where(reassign, cat.TEAM_REPS[seg_now, other_slot], rep)
    rename = has & ~upgrade & ~reassign
    shift = rng.integers(1, len(cat.NAME_WORDS_A), n)
    c.upd_t = np.where(has, when, -1)
    c.upd_segment = seg
    c.upd_rep = rep
    c.upd_name_a = np.where(rename, (c.name_a + shift) % len(cat.NAME_WORDS_A), c.name_a)


@dataclass
class Spells:
    """A spell is one uninterrupted life of a subscription: created .. canceled.

    kind: 0 = the customer's first core subscription, 1 = a core reactivation (same or a
    new subscription id), 2 = the analytics add-on (a second subscription).
    """

    cust: np.ndarray
    sub: np.ndarray  # 0-based subscription number (ids follow first start)
    kind: np.ndarray
    start_t: np.ndarray
    tier0: np.ndarray
    period: np.ndarray
    q0: np.ndarray
    disc_pct: np.ndarray
    req_t: np.ndarray  # when the customer asks to cancel (may be after the world)
    eff_t: np.ndarray  # when the cancellation takes effect (end of the billing period)
    change_rate: np.ndarray  # seat/plan changes per month
    p_up: np.ndarray  # share of changes that go up
    contract_months: np.ndarray

    def __len__(self) -> int:
        return len(self.cust)

    @property
    def product(self) -> np.ndarray:
        return (self.kind == 2).astype(np.int64)

    @property
    def months(self) -> np.ndarray:
        return cat.PERIOD_MONTHS[self.period]


def boundary(tl: Timeline, start_t: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Start of the billing period ``months`` calendar months after ``start_t``."""
    later = tl.add_months(start_t // DAY, months) * DAY + start_t % DAY
    return np.where(months == 0, start_t, later)


def period_end_after(tl: Timeline, start_t: np.ndarray, pm: np.ndarray, t: np.ndarray) -> np.ndarray:
    """First renewal boundary strictly after ``t`` (cancel-at-period-end)."""
    mb = tl.month_index(t // DAY) - tl.month_index(start_t // DAY)
    k = np.maximum(mb // pm, 0)
    b = boundary(tl, start_t, k * pm)
    k = np.where(b > t, k, k + 1)
    k = np.maximum(k, 1)
    return boundary(tl, start_t, k * pm)


def _draw_plan(rng: np.random.Generator, plans: cat.PlanBook, segment: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    tier_p = np.array([[0.55, 0.40, 0.05], [0.0, 0.55, 0.45], [0.0, 0.0, 1.0]])[segment]
    period_p = np.array([[0.75, 0.05, 0.20], [0.50, 0.15, 0.35], [0.20, 0.0, 0.80]])[segment]
    tier = _choice_rows(rng, tier_p)
    period = _choice_rows(rng, period_p)
    period = np.where(plans.available[tier, period], period, 0)
    return tier, period


def _draw_seats(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    n = len(segment)
    smb = 1 + rng.poisson(1.5, n)
    mid = 3 + np.rint(rng.lognormal(np.log(10), 0.6, n))
    ent = 15 + np.rint(rng.lognormal(np.log(30), 0.7, n))
    return np.select([segment == 0, segment == 1], [smb, mid], ent).astype(np.int64)


def _contract_months(rng: np.random.Generator, period: np.ndarray) -> np.ndarray:
    u = rng.random(len(period))
    return np.select(
        [period == 0, period == 1],
        [np.where(u < 0.8, 1, 12), np.where(u < 0.7, 3, 12)],
        np.where(u < 0.8, 12, 24),
    )


def _cancel_times(tl: Timeline, rng: np.random.Generator, start_t: np.ndarray, period: np.ndarray,
                  hazard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(start_t)
    life = rng.exponential(MONTH_DAYS / hazard) * DAY
    req = start_t + DAY + life.astype(np.int64)
    # Monthly plans are sometimes canceled at once; otherwise at the end of the period
    # already paid for, which is how cancellations become future-dated.
    immediate = (period == 0) & (rng.random(n) < 0.35)
    pm = cat.PERIOD_MONTHS[period]
    eff = np.where(immediate, req + rng.integers(60, 3600, n),
                   period_end_after(tl, start_t, pm, req))
    return req, eff


def draw_spells(tl: Timeline, c: Customers, plans: cat.PlanBook, seed: int, launch_t: int) -> Spells:
    rng = rng_for(seed, S_SPELLS)
    n = c.n
    seg = c.segment
    hazard = CHURN_HAZARD[seg] * np.exp(-0.45 * c.health)

    # First core subscription: starts when the customer is created.
    tier, period = _draw_plan(rng, plans, seg)
    q0 = _draw_seats(rng, seg)
    disc = np.where(rng.random(n) < np.array([0.10, 0.30, 0.60])[seg],
                    np.round(rng.uniform(0.05, 0.25, n), 2), 0.0)
    req, eff = _cancel_times(tl, rng, c.created_t, period, hazard)
    req, eff = _ensure_future_cancellation(tl, rng, c.created_t, period, req, eff)

    # Win-back: some churned customers return months later, on the same or a new id.
    back = (eff < tl.world_end) & (rng.random(n) < 0.3 * np.exp(0.3 * c.health))
    start2 = eff + rng.integers(20, 180, n) * DAY + rng.integers(0, DAY, n)
    back &= start2 < tl.world_end
    r_idx = np.flatnonzero(back)
    tier2, period2 = _draw_plan(rng, plans, seg[r_idx])
    q2 = np.maximum(1, np.rint(q0[r_idx] * rng.uniform(0.5, 1.1, len(r_idx)))).astype(np.int64)
    req2, eff2 = _cancel_times(tl, rng, start2[r_idx], period2, hazard[r_idx] * 1.3)
    same_id = rng.random(len(r_idx)) < 0.4

    # Analytics add-on: a second subscription, bought after the product launched and
    # before the customer decides to leave; it ends at the latest with the core plan.
    a_start = np.maximum(c.created_t + rng.integers(14, 365, n) * DAY,
                         launch_t + rng.integers(0, 30, n) * DAY) + rng.integers(0, 3600, n)
    has_a = (rng.random(n) < np.array([0.08, 0.25, 0.40])[seg]) & (a_start < req) & (
        a_start < tl.world_end)
    a_idx = np.flatnonzero(has_a)
    a_period = np.where((period[a_idx] == 2) & (rng.random(len(a_idx)) < 0.6), 2, 0)
    a_period = np.where(plans.available[3, a_period], a_period, 0)
    a_q = np.maximum(1, np.rint(q0[a_idx] * rng.uniform(0.1, 0.5, len(a_idx)))).astype(np.int64)
    a_req, a_eff = _cancel_times(tl, rng, a_start[a_idx], a_period, np.full(len(a_idx), 0.02))
    with_core = a_req >= req[a_idx]
    a_req = np.where(with_core, req[a_idx] + 1, a_req)
    # Never outlive the core plan (a core canceled at once takes the add-on with it).
    a_eff = np.where(with_core, eff[a_idx], np.minimum(a_eff, eff[a_idx]))

    kind = np.r_[np.zeros(n), np.ones(len(r_idx)), np.full(len(a_idx), 2)].astype(np.int64)
    cust = np.r_[np.arange(n), r_idx, a_idx].astype(np.int64)
    start = np.r_[c.created_t, start2[r_idx], a_start[a_idx]].astype(np.int64)
    all_period = np.r_[period, period2, a_period].astype(np.int64)
    s = Spells(
        cust=cust,
        sub=np.zeros(len(cust), dtype=np.int64),
        kind=kind,
        start_t=start,
        tier0=np.r_[tier, tier2, np.full(len(a_idx), 3)].astype(np.int64),
        period=all_period,
        q0=np.r_[q0, q2, a_q].astype(np.int64),
        disc_pct=np.r_[disc, disc[r_idx], np.zeros(len(a_idx))],
        req_t=np.r_[req, req2, a_req].astype(np.int64),
        eff_t=np.r_[eff, eff2, a_eff].astype(np.int64),
        change_rate=np.r_[CHANGE_RATE[seg], CHANGE_RATE[seg[r_idx]],
                          np.full(len(a_idx), 0.04)] * np.exp(0.25 * c.health[cust]),
        p_up=np.clip(0.62 + 0.1 * c.health[cust], 0.3, 0.9),
        contract_months=_contract_months(rng, all_period),
    )
    # Subscription numbers follow the first start; a same-id win-back reuses its number.
    first = kind != 1
    order = np.argsort(start[first], kind="stable")
    nums = np.empty(first.sum(), dtype=np.int64)
    nums[order] = np.arange(first.sum())
    s.sub[first] = nums
    r_sub = np.where(same_id, s.sub[r_idx], -1)
    fresh = np.flatnonzero(~same_id)
    r_sub[fresh] = first.sum() + np.argsort(np.argsort(start2[r_idx][fresh], kind="stable"))
    s.sub[kind == 1] = r_sub
    return s


def _ensure_future_cancellation(tl: Timeline, rng: np.random.Generator, start: np.ndarray,
                                period: np.ndarray, req: np.ndarray, eff: np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Every demo shows a scheduled cancellation (asked for before the last landed day,
    effective after it): if chance produced none, one active customer asks near the end."""
    last = (tl.days - 1) * DAY
    future = (req < last + DAY) & (eff >= tl.days * DAY)
    if future.any():
        return req, eff
    active = np.flatnonzero((start < last - 7 * DAY) & (req >= last + DAY))
    if len(active) == 0:
        return req, eff
    i = active[rng.integers(len(active))]
    req, eff = req.copy(), eff.copy()
    req[i] = last + int(rng.integers(0, DAY))
    pm = cat.PERIOD_MONTHS[period[i : i + 1]]
    e = period_end_after(tl, start[i : i + 1], pm, req[i : i + 1])
    if e[0] < tl.days * DAY:  # the paid period ends today: cancel after the next one
        e = period_end_after(tl, start[i : i + 1], pm, e)
    eff[i] = e[0]
    return req, eff


@dataclass
class Users:
    n: int
    cust: np.ndarray  # -1 = no customer (free or trial user who never paid)
    signup_t: np.ndarray
    channel: np.ndarray  # index into USER_CHANNELS
    first_user: np.ndarray  # the account's first user (admin)
    offset_min: np.ndarray  # local time zone of the user
    propensity: np.ndarray  # daily chance of using the product
    # Active windows: [w1_lo, w1_hi) and [w2_lo, w2_hi) in seconds (empty when lo >= hi).
    w1_lo: np.ndarray
    w1_hi: np.ndarray
    w2_lo: np.ndarray
    w2_hi: np.ndarray


USER_CHANNELS = (*cat.CHANNELS, "invite")


def draw_users(tl: Timeline, c: Customers, s: Spells, seed: int) -> Users:
    rng = rng_for(seed, S_USERS)
    seg = c.segment
    n_per = np.select([seg == 0, seg == 1],
                      [1 + rng.poisson(1.5, c.n), 3 + rng.poisson(7, c.n)], 10 + rng.poisson(25, c.n))
    cust = np.repeat(np.arange(c.n), n_per)
    first = np.ones(len(cust), dtype=bool)
    first[1:] = cust[1:] != cust[:-1]
    mean_days = np.array([45.0, 75.0, 100.0])[seg[cust]]
    # The first user (the admin) signs up as the account is created; teammates join
    # while it pays. Never before the customer: every landed user names a landed customer.
    t_first = c.created_t[cust] + rng.integers(60, 2 * 3600, len(cust))
    t_other = c.created_t[cust] + (rng.exponential(mean_days) * DAY).astype(np.int64)
    su = np.where(first, t_first, t_other)

    core1 = s.kind == 0
    e1 = np.empty(c.n, dtype=np.int64)
    e1[s.cust[core1]] = s.eff_t[core1]
    a2 = np.zeros(c.n, dtype=np.int64)
    e2 = np.zeros(c.n, dtype=np.int64)
    back = s.kind == 1
    a2[s.cust[back]] = s.start_t[back]
    e2[s.cust[back]] = s.eff_t[back]
    in_1 = su < e1[cust]
    in_2 = (su >= a2[cust]) & (su < e2[cust])
    keep = (in_1 | in_2) & (su < tl.world_end)
    cust, first, su = cust[keep], first[keep], su[keep]
    n_c = len(cust)
    own_end = su + (rng.exponential(700.0, n_c) * DAY).astype(np.int64)

    # Users who never belong to a paying account: short-lived trials.
    n_free = round(0.3 * n_c)
    w = tl.acquisition_weights()
    f_day = rng.choice(tl.world_days, size=n_free, p=w / w.sum())
    f_off = rng.choice(cat.COUNTRY_OFFSET, size=n_free)
    f_su = f_day * DAY + rng.integers(0, DAY, n_free)
    f_end = f_su + (rng.exponential(25.0, n_free) * DAY).astype(np.int64)

    cust_all = np.r_[cust, np.full(n_free, -1)]
    su_all = np.r_[su, f_su].astype(np.int64)
    ch_cust = np.where(first, c.channel[cust], len(USER_CHANNELS) - 1)
    ch_free = rng.choice(3, size=n_free, p=[0.5, 0.3, 0.2])
    off = np.r_[cat.COUNTRY_OFFSET[c.country[cust]], f_off]
    prop = np.r_[np.minimum(rng.beta(2.5, 3.0, n_c) * np.where(first, 1.25, 1.0), 0.95),
                 rng.beta(1.5, 4.0, n_free)]
    cc = np.maximum(cust_all, 0)
    paying = cust_all >= 0
    end_all = np.r_[own_end, f_end]
    w1_lo = su_all
    w1_hi = np.where(paying, np.minimum(end_all, e1[cc]), end_all)
    w2_lo = np.where(paying, np.maximum(su_all, a2[cc]), 0)
    w2_hi = np.where(paying, np.minimum(end_all, e2[cc]), 0)

    order = np.argsort(su_all, kind="stable")  # user ids follow signup order
    return take_rows(Users(
        n=len(su_all), cust=cust_all, signup_t=su_all, channel=np.r_[ch_cust, ch_free],
        first_user=np.r_[first, np.zeros(n_free, dtype=bool)], offset_min=off, propensity=prop,
        w1_lo=w1_lo, w1_hi=w1_hi, w2_lo=w2_lo, w2_hi=w2_hi,
    ), order)
