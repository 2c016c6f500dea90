"""From the simulated world to landing tables: columns as SQL over numpy arrays.

Each :class:`Table` holds integer/float arrays, the day each row lands (becomes known),
and a SELECT list that DuckDB evaluates to the contract's columns: ids, names and
timestamps are formatted in SQL, never per row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from dagster_project.generate import billing, feedback, gtm, world
from dagster_project.generate import catalog as cat
from dagster_project.generate.events import EventPlan, plan_events
from dagster_project.generate.timeline import DAY, Timeline, rng_for

S_STYLE = 51


@dataclass
class World:
    tl: Timeline
    seed: int
    plans: cat.PlanBook
    customers: world.Customers
    spells: world.Spells
    users: world.Users
    sub_events: billing.SubscriptionEvents
    invoices: billing.Invoices
    bookings: billing.Bookings
    spend: gtm.Spend
    leads: gtm.Leads
    surveys: feedback.Surveys
    releases: feedback.Releases
    events: EventPlan


def build_world(customers: int, days: int, start: date, seed: int,
                events_per_user_day: float | None) -> World:
    tl = Timeline(start, days)
    plans = cat.load_plans()
    c = world.draw_customers(tl, customers, seed)
    s = world.draw_spells(tl, c, plans, seed, feedback.analytics_launch_t(tl))
    u = world.draw_users(tl, c, s, seed)
    ev = billing.subscription_events(tl, c, s, plans, seed)
    inv = billing.invoices(tl, c, s, ev, seed)
    bk = billing.bookings(tl, c, s, ev, inv, seed)
    sp = gtm.spend(tl, c, s, plans, seed)
    return World(
        tl=tl, seed=seed, plans=plans, customers=c, spells=s, users=u, sub_events=ev,
        invoices=inv, bookings=bk, spend=sp, leads=gtm.leads(tl, c, sp, seed),
        surveys=feedback.surveys(tl, c, u, seed), releases=feedback.releases(tl, seed),
        events=plan_events(tl, u, customers, seed, events_per_user_day),
    )


# --- SQL helpers -----------------------------------------------------------------------

def sql_list(values: tuple[str, ...] | list[str], index: str) -> str:
    """SQL picking ``values[index]`` (0-based integer column)."""
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"[{items}][{index} + 1]"


class Sql:
    """Timestamp formatting for one timeline (seconds since its start)."""

    def __init__(self, tl: Timeline) -> None:
        self.epoch = tl.epoch

    def ts(self, col: str) -> str:
        return f"make_timestamp((({self.epoch}) + {col}) * 1000000)"

    def fmt(self, col: str, pattern: str) -> str:
        return f"strftime({self.ts(col)}, '{pattern}')"

    def iso_z(self, col: str) -> str:
        return self.fmt(col, "%Y-%m-%dT%H:%M:%SZ")

    def local(self, col: str, offset_min: str) -> str:
        """ISO-8601 in local time with its offset (the same instant)."""
        sign = f"case when {offset_min} < 0 then '-' else '+' end"
        return (
            f"strftime({self.ts(col)} + to_minutes({offset_min}), '%Y-%m-%dT%H:%M:%S') || "
            f"printf('%s%02d:%02d', {sign}, abs({offset_min}) // 60, abs({offset_min}) % 60)"
        )

    def mixed(self, col: str, style: str) -> str:
        """Source systems disagree: UTC with Z, local +02:00, or no offset (UTC)."""
        return (
            f"case {style} when 0 then {self.iso_z(col)} "
            f"when 1 then {self.fmt(col + ' + 7200', '%Y-%m-%dT%H:%M:%S+02:00')} "
            f"else {self.fmt(col, '%Y-%m-%dT%H:%M:%S')} end"
        )


def money(col: str) -> str:
    return f"cast(round({col}, 2) as decimal(18, 2))"


def cid(col: str) -> str:
    return f"case when {col} >= 0 then printf('cus_%06d', {col} + 1) end"


def uid(col: str) -> str:
    return f"case when {col} >= 0 then concat('usr_', {col} + 1) end"


def rep_id(col: str) -> str:
    return f"case when {col} > 0 then printf('rep_%02d', {col}) end"


def anon_id(col: str) -> str:
    # Multiplying by an odd constant modulo 2^32 is a bijection: unique, random-looking.
    return f"case when {col} > 0 then printf('anon_%08x', ({col} * 2654435761) % 4294967296) end"


# --- tables ------------------------------------------------------------------------------

@dataclass
class Table:
    source: str
    stem: str  # file name without extension
    fmt: str  # csv | csv.gz | jsonl | jsonl.gz | ndjson | parquet
    arrays: dict[str, np.ndarray]
    landed_day: np.ndarray | None  # None: one file with every row (releases)
    select: str

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))


def tables(w: World) -> list[Table]:
    """Every landing table except product events (those are written month by month)."""
    q = Sql(w.tl)
    c, u, ev, inv, bk, sp, ld, sv, rl = (w.customers, w.users, w.sub_events, w.invoices,
                                         w.bookings, w.spend, w.leads, w.surveys, w.releases)
    out: list[Table] = []

    def customer_select(seg: str, rep: str, name_a: str) -> str:
        return ",\n".join([
            "printf('cus_%06d', i + 1) as customer_id",
            f"{q.fmt('t', '%Y-%m-%d %H:%M:%S')} as created_at",
            (f"{sql_list(cat.NAME_WORDS_A, name_a)} || ' ' || {sql_list(cat.NAME_WORDS_B, 'nb')}"
             f" || ' ' || {sql_list(cat.LEGAL_SUFFIXES, 'country')} as name"),
            f"{sql_list(cat.SEGMENTS, seg)} as segment",
            f"{sql_list(cat.REGIONS, 'region')} as region",
            f"{sql_list(cat.COUNTRY_CODES, 'country')} as country",
            f"{sql_list(cat.CHANNELS, 'channel')} as acquisition_channel",
            f"{rep_id(rep)} as sales_rep_id",
        ])

    base = {"i": np.arange(c.n), "t": c.created_t, "nb": c.name_b, "region": c.region,
            "country": c.country, "channel": c.channel}
    out.append(Table("customers", "customers", "csv",
                     {**base, "seg": c.segment, "rep": c.rep, "na": c.name_a},
                     c.created_t // DAY, customer_select("seg", "rep", "na")))
    upd = np.flatnonzero(c.upd_t >= 0)
    upd = upd[np.lexsort((upd, c.upd_t[upd]))]
    out.append(Table("customers", "customers_updates", "csv",
                     {**{k: v[upd] for k, v in base.items()}, "seg": c.upd_segment[upd],
                      "rep": c.upd_rep[upd], "na": c.upd_name_a[upd]},
                     c.upd_t[upd] // DAY, customer_select("seg", "rep", "na")))

    out.append(Table(
        "users", "users", "csv",
        {"i": np.arange(u.n), "cust": u.cust, "t": u.signup_t, "channel": u.channel},
        u.signup_t // DAY,
        ",\n".join([
            f"{uid('i')} as user_id",
            f"{cid('cust')} as customer_id",
            f"{q.iso_z('t')} as signed_up_at",
            f"{sql_list(world.USER_CHANNELS, 'channel')} as acquisition_channel",
            "printf('user%d@example.%s', i + 1, ['com', 'org', 'net'][i % 3 + 1]) as email",
        ]),
    ))

    style = rng_for(w.seed, S_STYLE).choice(3, size=len(ev.spell), p=[0.5, 0.2, 0.3])
    live = ev.etype != billing.CANCELED
    out.append(Table(
        "subscription_events", "subscription_events", "csv",
        {"i": np.arange(len(ev.spell)), "sub": ev.sub, "cust": ev.cust, "etype": ev.etype,
         "eff": ev.eff_t, "occ": ev.occ_t, "plan": ev.tier * 3 + ev.period, "period": ev.period,
         "unit": np.nan_to_num(ev.unit), "qty": ev.quantity, "disc": np.nan_to_num(ev.discount),
         "live": live, "cur": ev.currency, "style": style},
        ev.occ_t // DAY,
        ",\n".join([
            "printf('sev_%08d', i + 1) as event_id",
            "printf('sub_%07d', sub + 1) as subscription_id",
            f"{cid('cust')} as customer_id",
            f"{sql_list(billing.EVENT_TYPES, 'etype')} as event_type",
            f"{q.mixed('eff', 'style')} as effective_at",
            f"{q.mixed('occ', 'style')} as occurred_at",
            f"{sql_list(w.plans.plan_ids, 'plan')} as plan_id",
            f"{sql_list(cat.PERIODS, 'period')} as billing_period",
            f"case when live then {money('unit')} end as unit_amount",
            "case when live then qty end as quantity",
            f"case when live then {money('disc')} end as discount_amount",
            f"{sql_list(cat.CURRENCIES, 'cur')} as currency",
        ]),
    ))

    out.append(Table(
        "invoices", "invoices", "jsonl",
        {"i": np.arange(len(inv.cust)), "cust": inv.cust, "t": inv.issued_t, "amount": inv.amount,
         "cur": inv.currency, "rtype": inv.rtype, "status": inv.status, "product": inv.product},
        inv.issued_t // DAY,
        ",\n".join([
            "printf('inv_%08d', i + 1) as invoice_id",
            f"{cid('cust')} as customer_id",
            f"{q.iso_z('t')} as issued_at",
            f"{money('amount')} as amount",
            f"{sql_list(cat.CURRENCIES, 'cur')} as currency",
            f"{sql_list(billing.REVENUE_TYPES, 'rtype')} as revenue_type",
            f"{sql_list(billing.STATUSES, 'status')} as status",
            f"{sql_list(cat.PRODUCTS, 'product')} as product",
        ]),
    ))

    out.append(Table(
        "bookings", "bookings", "parquet",
        {"i": np.arange(len(bk.cust)), "cust": bk.cust, "t": bk.booked_t,
         "cm": bk.contract_months, "tcv": bk.tcv, "cur": bk.currency, "rep": bk.rep,
         "product": bk.product, "rtype": bk.rtype, "nb": bk.new_business},
        bk.booked_t // DAY,
        ",\n".join([
            "printf('bkg_%07d', i + 1) as booking_id",
            f"{cid('cust')} as customer_id",
            f"{q.ts('t')} as booked_at",
            "cast(cm as integer) as contract_months",
            f"{money('tcv')} as total_contract_value",
            f"{sql_list(cat.CURRENCIES, 'cur')} as currency",
            f"{rep_id('rep')} as sales_rep_id",
            f"{sql_list(cat.PRODUCTS, 'product')} as product",
            f"{sql_list(billing.REVENUE_TYPES, 'rtype')} as revenue_type",
            "nb as is_new_business",
        ]),
    ))

    out.append(Table(
        "marketing_spend", "marketing_spend", "csv.gz",
        {"d": sp.day, "ch": sp.channel, "amount": sp.amount, "cur": sp.currency,
         "cost": sp.cost_type, "motion": sp.motion},
        sp.day,
        ",\n".join([
            f"{q.fmt('d * 86400', '%Y-%m-%d')} as spend_date",
            f"{sql_list(cat.SPEND_CHANNELS, 'ch')} as channel",
            f"{money('amount')} as amount",
            f"{sql_list(cat.CURRENCIES, 'cur')} as currency",
            f"{sql_list(gtm.COST_TYPES, 'cost')} as cost_type",
            f"{sql_list(gtm.MOTIONS, 'motion')} as motion",
        ]),
    ))

    out.append(Table(
        "leads", "leads", "ndjson",
        {"i": np.arange(len(ld.created_t)), "t": ld.created_t, "ch": ld.channel,
         "qual": ld.qualified, "cust": ld.cust, "conv": ld.converted_t},
        ld.landed_t // DAY,
        ",\n".join([
            "printf('lead_%07d', i + 1) as lead_id",
            f"{q.fmt('t', '%Y-%m-%dT%H:%M:%S+00:00')} as created_at",
            f"{sql_list(gtm.LEAD_CHANNELS, 'ch')} as channel",
            "qual as is_qualified",
            f"{cid('cust')} as customer_id",
            (f"case when conv >= 0 then {q.fmt('conv', '%Y-%m-%dT%H:%M:%S+00:00')} end"
             " as converted_at"),
        ]),
    ))

    comment = (
        "case kind "
        + " ".join(
            f"when {k} then {sql_list(texts, f'pick % {len(texts)}')}"
            for k, texts in enumerate((cat.COMMENTS_POSITIVE, cat.COMMENTS_NEUTRAL,
                                       cat.COMMENTS_NEGATIVE, cat.COMMENTS_PERSONAL))
        )
        + " end"
    )
    out.append(Table(
        "survey_responses", "survey_responses", "jsonl",
        {"i": np.arange(len(sv.survey)), "survey": sv.survey, "t": sv.responded_t,
         "score": sv.score, "cust": sv.cust, "user": sv.user, "off": sv.offset_min,
         "kind": sv.comment_kind, "pick": sv.comment_pick},
        sv.responded_t // DAY,
        ",\n".join([
            "printf('rsp_%07d', i + 1) as response_id",
            f"{sql_list(('nps', 'csat'), 'survey')} as survey",
            f"{q.local('t', 'off')} as responded_at",
            "score",
            f"{cid('cust')} as customer_id",
            f"{uid('user')} as user_id",
            f"{comment} as comment",
        ]),
    ))

    titles = ("Core", "Analytics", "Forecasting")
    launches = ("Core platform launch", "Analytics add-on launch", "Forecasting launch")
    feature = (
        f"case when kind = 1 then {sql_list(launches, 'product')} "
        f"when product = 0 then {sql_list(cat.FEATURES, 'feature')} "
        f"else {sql_list(cat.ANALYTICS_FEATURES, 'feature')} end"
    )
    out.append(Table(
        "releases", "releases", "jsonl.gz",
        {"i": np.arange(len(rl.product)), "planned": rl.planned_day,
         "has_rel": rl.released_t != feedback.NOT_RELEASED,
         "rel": np.where(rl.released_t != feedback.NOT_RELEASED, rl.released_t, 0),
         "product": rl.product, "kind": rl.kind, "feature": np.maximum(rl.feature, 0)},
        None,
        ",\n".join([
            "printf('rel_%04d', i + 1) as release_id",
            (f"case when kind = 1 then {feature} else {sql_list(titles, 'product')} || ' ' || "
             f"{q.fmt('planned * 86400', '%Y.%m')} || ': ' || {feature} end as name"),
            f"{q.fmt('planned * 86400', '%Y-%m-%d')} as planned_at",
            f"case when has_rel then {q.iso_z('rel')} end as released_at",
            f"{sql_list(feedback.RELEASE_PRODUCTS, 'product')} as product",
            f"{sql_list(('feature', 'product'), 'kind')} as kind",
        ]),
    ))
    return out


def event_select(tl: Timeline) -> str:
    """Product events: event_name and properties arrive as categoricals (DuckDB ENUMs,
    cheap to scan), the rest are numbers formatted here.

    The ENUMs are cast to VARCHAR on the way out: written as ENUM, the Parquet writer's
    dictionary pages depended on thread timing (same rows, different bytes).
    """
    q = Sql(tl)
    return ",\n".join([
        "concat('ev_', no) as event_id",
        "cast(event_name as varchar) as event_name",
        f"{q.ts('t')} as occurred_at",
        f"{uid('user')} as user_id",
        f"{anon_id('anon')} as anonymous_id",
        "cast(properties as varchar) as properties",
    ])
