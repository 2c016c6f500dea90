"""Product events, generated one calendar month at a time.

Two kinds of events:

* *journey* events, once per person: anonymous page views before signing up (and of
  visitors who never sign up), ``signed_up`` (with both ids: the identify call),
  ``activated``, the first ``project_created`` and the first ``invite_sent``;
* *routine* events: every user-day in a user's active windows is active with a chance
  (the user's propensity x seasonality x a decay after signup), and an active day has
  ``1 + Poisson(lambda - 1)`` events drawn from a weighted list.

A month is generated from its own random stream, so any month can be regenerated alone
(``land_next_day`` only needs the last one or two). Some events arrive late: they land in
the partition of the month they *arrive* in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dagster_project.generate import catalog as cat
from dagster_project.generate.timeline import DAY, Timeline, expand_ranges, rng_for, take_rows
from dagster_project.generate.world import Users

S_JOURNEY, S_MONTH = 41, 100
DECAY_FLOOR, DECAY_DAYS = 0.55, 45.0
MAX_DELAY_DAYS = 14
EVENTS_PER_CUSTOMER = 1000  # over two years: the S/M/L benchmark scales


@dataclass
class EventBatch:
    t: np.ndarray  # int64 seconds
    user: np.ndarray  # int32 user number, -1 = anonymous
    anon: np.ndarray  # int64 anonymous key, 0 = none (formatted in SQL)
    code: np.ndarray  # int8 index into EVENT_NAMES
    prop: np.ndarray  # int16 index into the properties vocabulary
    arrival_day: np.ndarray  # int32
    # Event number: YYYYMM of the month it occurred in x 10^8 + its position in that
    # month (0 until month_events numbers it); the event_id is made from it.
    no: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def take(self, idx: np.ndarray) -> EventBatch:
        return take_rows(self, idx)

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        return EventBatch(*(np.concatenate([getattr(b, f) for b in batches])
                            for f in EventBatch.__dataclass_fields__))

    @staticmethod
    def concat_take(batches: list[EventBatch], idx: np.ndarray) -> EventBatch:
        """``concat(batches).take(idx)`` one field at a time (half the peak memory)."""
        return EventBatch(*(np.concatenate([getattr(b, f) for b in batches])[idx]
                            for f in EventBatch.__dataclass_fields__))

    @staticmethod
    def build(rng: np.random.Generator, t: np.ndarray, user: np.ndarray, anon: np.ndarray,
              code: np.ndarray) -> EventBatch:
        """Typed arrays plus the random parts every event gets (properties, arrival)."""
        return EventBatch(t.astype(np.int64), user.astype(np.int32), anon.astype(np.int64),
                          code.astype(np.int8), _properties(rng, code), _arrival(rng, t),
                          np.zeros(len(t), dtype=np.int64))


@lru_cache(maxsize=1)
def property_vocabulary() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Every ``properties`` value an event can carry, with (offset, count) per event name.

    A few thousand distinct JSON objects, written as a categorical column: DuckDB writes
    dictionary-coded strings far faster than it builds one string per event.
    """
    def objs(key: str, values: list[str] | tuple[str, ...], quoted: bool = True) -> list[str]:
        return [json.dumps({key: v}, separators=(",", ":")) if quoted
                else json.dumps({key: int(v)}, separators=(",", ":")) for v in values]

    per_event = {
        "page_view": objs("path", ["/" + p for p in cat.PAGES]),
        "signed_up": ['{"plan":"trial"}'],
        "activated": ['{"trigger":"first_report"}'],
        "project_created": objs("project_id", [f"prj_{i:04d}" for i in range(1000)]),
        "invite_sent": objs("role", cat.ROLES),
        "report_viewed": objs("report", cat.REPORTS),
        "dashboard_viewed": objs("dashboard_id", [f"db_{i:03d}" for i in range(500)]),
        "search_performed": objs("query_length", [str(i) for i in range(1, 31)], quoted=False),
        "file_uploaded": objs("size_kb", [str(1 + i * 37 % 5000) for i in range(200)],
                              quoted=False),
        "comment_added": objs("length", [str(i) for i in range(1, 401)], quoted=False),
        "export_created": objs("format", cat.EXPORT_FORMATS),
        "settings_updated": objs("section", cat.SECTIONS),
        "integration_connected": objs("integration", cat.INTEGRATIONS),
        "email_opened": objs("campaign", cat.CAMPAIGNS),
        "notification_clicked": objs("channel", cat.NOTIFY_CHANNELS),
    }
    vocab: list[str] = []
    offset = np.zeros(len(cat.EVENT_NAMES), dtype=np.int64)
    count = np.ones(len(cat.EVENT_NAMES), dtype=np.int64)
    for name in cat.EVENT_NAMES:  # a loop over event names, not events
        offset[cat.EV[name]] = len(vocab)
        count[cat.EV[name]] = len(per_event[name])
        vocab.extend(per_event[name])
    return tuple(vocab), offset, count


def _properties(rng: np.random.Generator, code: np.ndarray) -> np.ndarray:
    _, offset, count = property_vocabulary()
    pick = rng.integers(0, 1 << 30, len(code)) % count[code]
    return (offset[code] + pick).astype(np.int16)


@dataclass
class EventPlan:
    lam: float  # mean events per active user-day
    thin: float  # scales every daily activity chance
    journey: EventBatch  # journey events of the whole world, sorted by time
    journey_month: np.ndarray  # occurred month index per journey event


def _journey(tl: Timeline, u: Users, seed: int) -> tuple[EventBatch, np.ndarray]:
    rng = rng_for(seed, S_JOURNEY)
    n = u.n
    users = np.arange(n)
    end = np.minimum(u.w1_hi, tl.world_end)
    paying = u.cust >= 0
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # t, user, anon, code

    def add(t: np.ndarray, user: np.ndarray, anon: np.ndarray, code: int) -> None:
        parts.append((t, user, anon, np.full(len(t), code)))

    # Before signing up: a few anonymous page views in the week before.
    n_pre = 1 + rng.poisson(1.2, n)
    pu = np.repeat(users, n_pre)
    back = (rng.random(len(pu)) * np.minimum(7 * DAY, u.signup_t[pu])).astype(np.int64)
    add(u.signup_t[pu] - back, np.full(len(pu), -1), pu + 1, cat.EV["page_view"])
    add(u.signup_t, users, users + 1, cat.EV["signed_up"])
    add(u.signup_t + rng.integers(10, 120, n), users, np.zeros(n, dtype=np.int64),
        cat.EV["page_view"])
    # Activation: most within the 7-day window, some later, some never.
    act = rng.random(n) < np.where(paying, 0.72, 0.35)
    delay = np.where(rng.random(n) < 0.8, rng.uniform(0.02, 6.9, n), rng.uniform(7, 30, n))
    t_act = u.signup_t + (delay * DAY).astype(np.int64)
    act &= t_act < end
    add(t_act[act], users[act], np.zeros(act.sum(), dtype=np.int64), cat.EV["activated"])
    proj = act & (rng.random(n) < 0.75)
    t_proj = t_act + (rng.uniform(0.01, 3, n) * DAY).astype(np.int64)
    proj &= t_proj < end
    add(t_proj[proj], users[proj], np.zeros(proj.sum(), dtype=np.int64),
        cat.EV["project_created"])
    inv = proj & paying & (rng.random(n) < np.where(u.first_user, 0.7, 0.35))
    t_inv = t_proj + (rng.uniform(0.1, 14, n) * DAY).astype(np.int64)
    inv &= t_inv < end
    add(t_inv[inv], users[inv], np.zeros(inv.sum(), dtype=np.int64), cat.EV["invite_sent"])
    # Visitors who never sign up: a visit of one or a few page views.
    n_vis = 2 * n
    w = tl.acquisition_weights()
    v_day = rng.choice(tl.world_days, size=n_vis, p=w / w.sum())
    v_t = v_day * DAY + rng.integers(0, DAY, n_vis)
    per = 1 + rng.poisson(0.8, n_vis)
    vi = np.repeat(np.arange(n_vis), per)
    add(v_t[vi] + rng.integers(0, 1800, len(vi)), np.full(len(vi), -1), n + 1 + vi,
        cat.EV["page_view"])

    t, user, anon, code = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(t, kind="stable")
    t, user, anon, code = t[order], user[order], anon[order], code[order]
    inside = t < tl.world_end
    b = EventBatch.build(rng, t[inside], user[inside], anon[inside], code[inside])
    return b, tl.month_index(b.t // DAY)


def _arrival(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Arrival day: mostly the same day; 3% of events reach the pipeline days late
    (offline devices, retried batches)."""
    day = (t // DAY).astype(np.int32)
    late = np.flatnonzero(rng.random(len(t), dtype=np.float32) < 0.03)
    day[late] += np.minimum(rng.geometric(0.3, len(late)), MAX_DELAY_DAYS).astype(np.int32)
    return day


@lru_cache(maxsize=1)
def _local_time_cdf() -> np.ndarray:
    """Cumulative share of events per local quarter-hour: a morning and an afternoon
    peak, a long evening tail."""
    h = (np.arange(96) + 0.5) / 4
    dens = (0.5 * np.exp(-0.5 * ((h - 10.5) / 1.8) ** 2) / 1.8
            + 0.5 * np.exp(-0.5 * ((h - 15.0) / 2.2) ** 2) / 2.2 + 0.004)
    return np.cumsum(dens / dens.sum())


def _local_seconds(u: np.ndarray) -> np.ndarray:
    """Local second of day from one uniform number: its quarter-hour by the CDF, the
    position inside the quarter-hour from where ``u`` fell within that bucket."""
    cdf = _local_time_cdf()
    b = np.minimum(np.searchsorted(cdf, u, side="right"), 95)
    lo = np.where(b > 0, cdf[b - 1], 0.0)
    frac = np.clip((u - lo) / (cdf[b] - lo), 0.0, 0.999)
    return ((b + frac) * 900).astype(np.int64)


def _windows(tl: Timeline, u: Users) -> list[tuple[np.ndarray, np.ndarray]]:
    """Active windows per user in seconds, clipped to the world."""
    return [(u.w1_lo, np.minimum(u.w1_hi, tl.world_end)),
            (u.w2_lo, np.minimum(u.w2_hi, tl.world_end))]


def plan_events(tl: Timeline, u: Users, customers: int, seed: int,
                events_per_user_day: float | None) -> EventPlan:
    journey, journey_month = _journey(tl, u, seed)
    if events_per_user_day is not None:
        return EventPlan(max(1.0, events_per_user_day), 1.0, journey, journey_month)
    # Calibrate to the benchmark density: about EVENTS_PER_CUSTOMER events per customer
    # over two years. The expected number of active user-days has a closed form: sums of
    # the seasonality (cumulative) and of the decay (geometric series) over each window.
    cum = np.r_[0.0, np.cumsum(tl.season[: tl.days])]
    mean_season = tl.season[: tl.days].mean()
    q = np.exp(-1.0 / DECAY_DAYS)
    expected = np.zeros(u.n)
    su_day = u.signup_t // DAY
    decays = u.cust >= 0
    for lo_t, hi_t in _windows(tl, u):  # two windows: a loop over columns, not rows
        lo = np.clip(lo_t // DAY, 0, tl.days)
        hi = np.clip(np.where(hi_t > lo_t, (hi_t - 1) // DAY + 1, lo), lo, tl.days)
        plain = cum[hi] - cum[lo]
        a0, a1 = lo - su_day, hi - su_day
        geo = (q ** a0 - q ** a1) / (1 - q)
        with_decay = DECAY_FLOOR * plain + (1 - DECAY_FLOOR) * mean_season * geo
        expected += u.propensity * np.where(decays, with_decay, plain)
    pairs = max(expected.sum(), 1.0)
    target = EVENTS_PER_CUSTOMER * customers * tl.days / 730.0
    routine = max(target - np.count_nonzero(journey.t < tl.days * DAY), 0.0)
    if routine >= 1.2 * pairs:
        return EventPlan(routine / pairs, 1.0, journey, journey_month)
    return EventPlan(1.2, min(1.0, routine / (1.2 * pairs)), journey, journey_month)


def month_events(tl: Timeline, u: Users, plan: EventPlan, seed: int, month: int) -> EventBatch:
    """Every event that occurs in month index ``month`` of the world, in day order (the
    order of the file and of the event numbers)."""
    rng = rng_for(seed, S_MONTH, month)
    d_lo = max(tl.month_start_day(month), 0)
    d_hi = min(tl.month_start_day(month + 1), tl.world_days)
    su_day = (u.signup_t // DAY).astype(np.int32)
    paying = u.cust >= 0
    propensity = (u.propensity * plan.thin).astype(np.float32)
    season = tl.season.astype(np.float32)
    parts = []
    for lo_t, hi_t in _windows(tl, u):
        live = np.flatnonzero((hi_t > lo_t) & (hi_t > d_lo * DAY) & (lo_t < d_hi * DAY))
        lo = np.maximum(lo_t[live] // DAY, d_lo)
        hi = np.minimum((hi_t[live] - 1) // DAY + 1, d_hi)
        # User-days are the biggest arrays at scale: 32-bit numbers halve the memory.
        owner, day = expand_ranges(lo.astype(np.int32), hi.astype(np.int32))
        user = live.astype(np.int32)[owner]
        age = (day - su_day[user]).astype(np.float32)
        decay = np.where(paying[user],
                         DECAY_FLOOR + (1 - DECAY_FLOOR) * np.exp(-age / DECAY_DAYS), 1.0)
        p = propensity[user] * season[day] * decay
        active = rng.random(len(user), dtype=np.float32) < p
        del owner, age, decay, p
        user, day = user[active], day[active].astype(np.int64)
        # Part of a day only (signup day, last day): that day's events fall in the part
        # inside the window.
        a = np.maximum(day * DAY, lo_t[user])
        b = np.minimum((day + 1) * DAY, hi_t[user])
        parts.append((user, day, a, b))
    user, day, a, b = (np.concatenate(x) for x in zip(*parts, strict=True))
    by_day = np.argsort((day - d_lo).astype(np.int8), kind="stable")  # a radix sort
    user, a, b = user[by_day], a[by_day], b[by_day]
    n_ev = 1 + rng.poisson(plan.lam - 1.0, len(user))
    idx = np.repeat(np.arange(len(user), dtype=np.int32), n_ev)
    ev_user = user[idx]
    tod = (_local_seconds(rng.random(len(idx))) - u.offset_min[ev_user] * 60) % DAY
    t = a[idx] + (tod * (b[idx] - a[idx])) // DAY
    del tod
    cum_w = np.cumsum(cat.ROUTINE_WEIGHTS)
    pick = np.minimum(np.searchsorted(cum_w, rng.random(len(idx), dtype=np.float32),
                                      side="right"), len(cum_w) - 1)
    routine = EventBatch.build(rng, t, ev_user, np.zeros(len(idx), dtype=np.int64),
                               cat.ROUTINE_EVENTS[pick])
    j_lo, j_hi = np.searchsorted(plan.journey_month, [month, month + 1])
    journey = plan.journey.take(np.arange(j_lo, j_hi))
    day_of = np.concatenate([journey.t // DAY, routine.t // DAY]) - d_lo
    order = np.argsort(day_of.astype(np.int8), kind="stable")  # journey first within a day
    batch = EventBatch.concat_take([journey, routine], order)
    first = tl.month_starts[month]
    batch.no = (first.year * 100 + first.month) * 100_000_000 + np.arange(1, len(batch) + 1)
    return batch
