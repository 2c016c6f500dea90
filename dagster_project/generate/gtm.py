"""Go-to-market: daily sales and marketing spend, and the leads it buys.

Budgets follow the expected new business per channel: expected new customers of the
channel x their typical first MRR x the months of that MRR a channel may cost (a CAC
payback target). Leads follow spend (cost per lead = cost per customer x conversion
rate), and every customer comes from one converted lead of its acquisition channel, so
spend, leads and new logos move together the way a CAC analysis expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.generate import catalog as cat
from dagster_project.generate.timeline import DAY, Timeline, rng_for, take_rows
from dagster_project.generate.world import Customers, Spells

S_SPEND, S_LEADS = 21, 22

# Months of a new customer's first MRR that a channel spends to win it (CAC payback
# before gross margin), and the share of its leads that become customers.
CAC_MONTHS = {"paid_search": 10.0, "social": 9.0, "partner": 12.0, "outbound": 14.0}
CONVERSION = {"organic": 0.06, "paid_search": 0.03, "social": 0.02, "partner": 0.08,
              "outbound": 0.05}
LEAD_CHANNELS = ("organic", *cat.SPEND_CHANNELS)
COST_TYPES = ("marketing", "sales")
MOTIONS = ("new_business", "expansion", "brand")


@dataclass
class Spend:
    day: np.ndarray
    channel: np.ndarray  # index into SPEND_CHANNELS
    amount: np.ndarray
    currency: np.ndarray
    cost_type: np.ndarray
    motion: np.ndarray
    usd: np.ndarray  # the amount in USD, for the leads it buys
    cpl_usd: np.ndarray  # cost per lead per SPEND_CHANNELS entry


def expected_logos(tl: Timeline, c: Customers) -> np.ndarray:
    """Expected new customers per world day and customer channel (days x CHANNELS)."""
    w = tl.acquisition_weights()
    landed = c.created_t < tl.days * DAY
    n = max(int(landed.sum()), 1)
    share = np.bincount(c.channel[landed], minlength=len(cat.CHANNELS)) / n
    return (n * w / w[: tl.days].sum())[:, None] * share[None, :]


def first_mrr_usd(c: Customers, s: Spells, plans: cat.PlanBook) -> np.ndarray:
    """Each customer's first MRR in USD list prices (what a deal is worth to marketing)."""
    first = np.flatnonzero(s.kind == 0)
    mrr = np.zeros(c.n)
    mrr[s.cust[first]] = (plans.usd_price[s.tier0[first], s.period[first]] * s.q0[first]
                          * (1 - s.disc_pct[first]) / s.months[first])
    return mrr


def spend(tl: Timeline, c: Customers, s: Spells, plans: cat.PlanBook, seed: int) -> Spend:
    rng = rng_for(seed, S_SPEND)
    logos = expected_logos(tl, c)
    mrr = first_mrr_usd(c, s, plans)
    landed = c.created_t < tl.days * DAY
    overall = mrr[landed].mean() if landed.any() else 0.0
    days = np.arange(tl.world_days)
    weekday = ((tl.dates.astype(np.int64) + 3) % 7) < 5
    parts: list[tuple[np.ndarray, ...]] = []
    cac: dict[str, float] = {}

    def add(mask: np.ndarray, ch: str, usd: np.ndarray, cur: int, cost: int, motion: int) -> None:
        d = days[mask]
        parts.append((d, np.full(len(d), cat.SPEND_CHANNELS.index(ch)), usd[mask],
                      np.full(len(d), cur), np.full(len(d), cost), np.full(len(d), motion)))

    def budget(ch: str) -> np.ndarray:
        k = cat.CHANNELS.index(ch)
        won = landed & (c.channel == k)
        cac[ch] = CAC_MONTHS[ch] * (mrr[won].mean() if won.any() else overall)
        return logos[:, k] * cac[ch] * rng.lognormal(0.0, 0.25, tl.world_days)

    everyday = np.ones(tl.world_days, dtype=bool)
    search = budget("paid_search")
    add(everyday, "paid_search", search * 0.65, 0, 0, 0)
    add(everyday, "paid_search", search * 0.35, 1, 0, 0)  # the EMEA ads account pays in EUR
    social = budget("social")
    add(everyday, "social", social * 0.8, 0, 0, 0)
    add(everyday, "social", social * 0.2, 0, 0, 2)
    add(everyday, "partner", budget("partner"), 0, 0, 0)
    outbound = budget("outbound") * 7 / 5  # SDR cost lands on working days only
    add(weekday, "outbound", outbound * 0.85, 0, 1, 0)
    add(weekday, "outbound", outbound * 0.15, 0, 1, 1)
    # Two trade shows a month, a tenth of the month's paid media each; EMEA ones in EUR.
    monthly = np.bincount(tl.month, weights=search + social, minlength=tl.month[-1] + 1)
    show = np.zeros(tl.world_days, dtype=bool)
    show[rng.choice(tl.world_days, size=min(tl.world_days, 2 * len(tl.month_starts)),
                    replace=False)] = True
    show_usd = 0.1 * monthly[tl.month] * rng.uniform(0.6, 1.4, tl.world_days)
    emea = rng.random(tl.world_days) < 0.4
    add(show & ~emea, "events", show_usd, 0, 0, 0)
    add(show & emea, "events", show_usd, 1, 0, 2)

    cols = [np.concatenate(p) for p in zip(*parts, strict=True)]
    d, ch, usd, cur, cost, motion = cols
    order = np.lexsort((motion, cur, ch, d))
    d, ch, usd, cur, cost, motion = (a[order] for a in (d, ch, usd, cur, cost, motion))
    amount = np.round(usd / cat.USD_PER_UNIT[cur], 2)
    keep = amount > 0
    cpl = np.array([cac[ch] * CONVERSION[ch] if ch in cac else np.nan
                    for ch in cat.SPEND_CHANNELS])  # five channels
    cpl[np.isnan(cpl)] = 1.5 * np.nanmean(cpl)  # events: dearer leads, rarely buying
    return Spend(d[keep], ch[keep], amount[keep], cur[keep], cost[keep], motion[keep], usd[keep],
                 np.maximum(cpl, 1.0))


@dataclass
class Leads:
    created_t: np.ndarray
    channel: np.ndarray  # index into LEAD_CHANNELS
    qualified: np.ndarray
    cust: np.ndarray  # -1 = not converted
    converted_t: np.ndarray  # -1 = not converted
    landed_t: np.ndarray  # when the CRM export carries the row


def leads(tl: Timeline, c: Customers, sp: Spend, seed: int) -> Leads:
    rng = rng_for(seed, S_LEADS)
    # One converted lead per customer, from its acquisition channel; sales cycles are
    # longer for bigger accounts. The CRM exports a lead once it is decided, so a won
    # lead lands with its conversion.
    lag = (rng.gamma(2.0, np.array([4.0, 15.0, 30.0])[c.segment]) * DAY).astype(np.int64)
    # A sales cycle does not start before the data does: shorten it at the beginning.
    lag = np.where(lag > c.created_t, (c.created_t * rng.random(c.n)).astype(np.int64), lag)
    won_t = c.created_t - lag
    won_ch = np.array([LEAD_CHANNELS.index(ch) for ch in cat.CHANNELS])[c.channel]

    # Open and lost leads follow the day's spend (cost per lead); organic ones follow
    # the organic inflow of customers.
    per_day = np.zeros((tl.world_days, len(LEAD_CHANNELS)))
    np.add.at(per_day, (sp.day, sp.channel + 1), sp.usd / sp.cpl_usd[sp.channel])
    # Won leads are drawn above (one per customer): these are the others.
    won_share = np.array([0.0, *[CONVERSION.get(ch, 0.0) for ch in cat.SPEND_CHANNELS]])
    per_day *= 1.0 - won_share
    per_day[:, 0] = expected_logos(tl, c)[:, 0] * (1 / CONVERSION["organic"] - 1)
    counts = rng.poisson(per_day)
    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    day, ch = np.divmod(cell, len(LEAD_CHANNELS))
    lost_t = day * DAY + rng.integers(7 * 3600, 20 * 3600, len(day))

    created = np.r_[won_t, lost_t].astype(np.int64)
    n_won = c.n
    order = np.argsort(created, kind="stable")  # lead ids follow creation
    cust = np.r_[np.arange(n_won), np.full(len(day), -1)]
    converted = np.r_[c.created_t, np.full(len(day), -1)]
    return take_rows(Leads(
        created_t=created, channel=np.r_[won_ch, ch],
        qualified=np.r_[np.ones(n_won, dtype=bool), rng.random(len(day)) < 0.35], cust=cust,
        converted_t=converted, landed_t=np.r_[c.created_t, lost_t].astype(np.int64),
    ), order)
