"""Survey answers (NPS, CSAT) and the release history of the roadmap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.generate import catalog as cat
from dagster_project.generate.timeline import DAY, Timeline, rng_for, take_rows
from dagster_project.generate.world import Customers, Users

S_SURVEYS, S_RELEASES = 31, 32


@dataclass
class Surveys:
    survey: np.ndarray  # 0 = nps, 1 = csat
    responded_t: np.ndarray
    score: np.ndarray
    cust: np.ndarray
    user: np.ndarray  # -1 = answered for the account, not as a known user
    offset_min: np.ndarray  # the respondent's time zone (timestamps are local)
    comment_kind: np.ndarray  # -1 none, 0 positive, 1 neutral, 2 negative, 3 personal
    comment_pick: np.ndarray


def surveys(tl: Timeline, c: Customers, u: Users, seed: int) -> Surveys:
    rng = rng_for(seed, S_SURVEYS)
    paying = np.flatnonzero(u.cust >= 0)
    lo = u.signup_t[paying]
    hi = np.minimum(u.w1_hi[paying], tl.world_end)
    health = c.health[u.cust[paying]]

    # NPS: asked 30 days after signup, then every quarter; about one in five answers.
    first_ask = lo + 30 * DAY
    waves = np.where(hi > first_ask, (hi - first_ask) // (90 * DAY) + 1, 0)
    owner = np.repeat(np.arange(len(paying)), waves)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(waves) - waves, waves)
    ask_t = first_ask[owner] + k * 90 * DAY
    answer = rng.random(len(owner)) < 0.22
    owner, ask_t = owner[answer], ask_t[answer]
    nps_t = np.minimum(ask_t + rng.integers(600, 3 * DAY, len(owner)), hi[owner] - 1)
    ent = c.segment[u.cust[paying][owner]] == 2
    nps = np.clip(np.rint(8.0 + 1.5 * health[owner] + 0.3 * ent + rng.normal(0, 1.6, len(owner))),
                  0, 10)

    # CSAT: after support conversations, about one every four months of use.
    span = np.maximum(hi - lo, 0)
    n_cs = rng.poisson(span / (120 * DAY))
    cs_owner = np.repeat(np.arange(len(paying)), n_cs)
    cs_t = lo[cs_owner] + (rng.random(len(cs_owner)) * span[cs_owner]).astype(np.int64)
    csat = np.clip(np.rint(4.1 + 0.5 * health[cs_owner] + rng.normal(0, 0.9, len(cs_owner))), 1, 5)

    who = np.r_[owner, cs_owner]
    user = paying[who]
    survey = np.r_[np.zeros(len(owner)), np.ones(len(cs_owner))].astype(np.int64)
    score = np.r_[nps, csat].astype(np.int64)
    # Some CSAT answers come from a shared support inbox: account known, user not.
    anonymous = (survey == 1) & (rng.random(len(who)) < 0.1)
    mood = np.where(survey == 0, np.select([score >= 9, score >= 7], [0, 1], 2),
                    np.select([score >= 4, score == 3], [0, 1], 2))
    has_comment = rng.random(len(who)) < 0.3
    kind = np.where(has_comment, np.where(rng.random(len(who)) < 0.03, 3, mood), -1)
    t = np.r_[nps_t, cs_t].astype(np.int64)
    order = np.argsort(t, kind="stable")
    return take_rows(Surveys(
        survey=survey, responded_t=t, score=score, cust=u.cust[user],
        user=np.where(anonymous, -1, user), offset_min=u.offset_min[user], comment_kind=kind,
        comment_pick=rng.integers(0, 1 << 16, len(who)),
    ), order)


@dataclass
class Releases:
    planned_day: np.ndarray
    released_t: np.ndarray  # NOT_RELEASED = not released yet (may be < 0: before start)
    product: np.ndarray  # 0 core, 1 analytics, 2 forecasting
    kind: np.ndarray  # 0 feature, 1 product
    feature: np.ndarray  # index into the product's feature list; -1 for product launches


RELEASE_PRODUCTS = ("core", "analytics", "forecasting")
NOT_RELEASED = np.iinfo(np.int64).min


def analytics_launch_day(tl: Timeline) -> int:
    """The analytics add-on launches early in the window, so its adoption is visible."""
    return min(75, max(1, tl.days // 4))


def releases(tl: Timeline, seed: int) -> Releases:
    rng = rng_for(seed, S_RELEASES)
    launch = analytics_launch_day(tl)
    months = len(tl.month_starts) + 3  # the roadmap plans three months ahead
    m_start = np.array([tl.month_start_day(m) for m in range(months)])  # a loop over months
    n_core = 2 + rng.poisson(1.0, months)
    n_an = np.where(m_start + 27 > launch, 1 + rng.poisson(0.5, months), 0)
    cm = np.repeat(np.arange(months), n_core)
    am = np.repeat(np.arange(months), n_an)
    month = np.r_[cm, am]
    product = np.r_[np.zeros(len(cm)), np.ones(len(am))].astype(np.int64)
    planned = m_start[month] + rng.integers(0, 28, len(month))
    planned = np.where(product == 1, np.maximum(planned, launch + 5), planned)
    feature = np.where(product == 0, rng.integers(0, len(cat.FEATURES), len(month)),
                       rng.integers(0, len(cat.ANALYTICS_FEATURES), len(month)))
    # Delivery slips more often than it lands early; the tail ships weeks late.
    slip = np.rint(rng.normal(2.0, 6.0, len(month))).astype(np.int64)
    slip = np.where(rng.random(len(month)) < 0.08, slip + rng.integers(10, 40, len(month)), slip)
    released = (planned + slip) * DAY + 16 * 3600 + rng.integers(0, 3600, len(month))
    # No analytics feature ships before the analytics product itself.
    released = np.where(product == 1, np.maximum(released, (launch + 1) * DAY), released)
    # Product launches: the core product (long before the window), the analytics add-on
    # (late by a few days) and a forecasting product still on the roadmap.
    l_planned = np.array([-700, launch - 4, tl.days + 45])
    l_released = np.array([-695 * DAY + 16 * 3600, launch * DAY + 16 * 3600, NOT_RELEASED])
    planned_all = np.r_[planned, l_planned]
    released_all = np.r_[released, l_released]
    # What ships after the last landed day is not released yet in this export.
    released_all = np.where(released_all >= tl.days * DAY, NOT_RELEASED, released_all)
    product_all = np.r_[product, [0, 1, 2]]
    order = np.lexsort((product_all, planned_all))
    return take_rows(Releases(
        planned_day=planned_all, released_t=released_all, product=product_all,
        kind=np.r_[np.zeros(len(month)), np.ones(3)].astype(np.int64),
        feature=np.r_[feature, [-1, -1, -1]],
    ), order)


def analytics_launch_t(tl: Timeline) -> int:
    return analytics_launch_day(tl) * DAY + 16 * 3600
