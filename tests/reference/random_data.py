"""A seeded random data set for every landing source, as CSV texts for the dbt fixture
harness, made to hit the corners of docs/METRICS.md rather than to look realistic: several
subscriptions per customer, revivals, same-day create-and-cancel, ties on effective_at,
offsets that move a time across midnight, times at exactly local midnight and across DST,
annual and quarterly plans, discounts larger than the price, EUR/GBP across rate changes and
landed fx rows that override the seed, future-dated events, customers re-landed with new
attributes or missing, exact duplicates (counted once, except marketing spend), users missing
from `users`, anonymous visitors, activation at the edges of its window, leads converted
after the as-of date, NPS with every score, releases early, late and without a plan.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

OFFSETS = ["", "Z", "+05:30", "-03:00", "+01:00", "-08:00", "-05:00", "-04:00"]
START = date(2023, 11, 1)
DAYS = 240
# Times that sit on the reporting-day edges of America/New_York (midnight, DST changes).
EDGE_TIMES = [
    "2024-03-10T00:00:00-05:00",
    "2024-03-10T03:30:00-04:00",
    "2024-03-09T23:59:59-05:00",
    "2023-11-05T00:00:00-04:00",
    "2023-11-05T01:30:00-05:00",
    "2024-01-01T05:00:00Z",
    "2024-02-01T04:59:59Z",
    "2024-04-01T04:00:00Z",
    "2024-03-31T23:59:59-04:00",
]


def _ts(rng: random.Random, day: date) -> str:
    if rng.random() < 0.06:
        return rng.choice(EDGE_TIMES)
    t = datetime(day.year, day.month, day.day, rng.randrange(24), rng.choice([0, 15, 30, 59]))
    return t.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(OFFSETS)


def _day(rng: random.Random, lo: int = 0, hi: int = DAYS) -> date:
    return START + timedelta(days=rng.randrange(lo, hi))


def generate(seed: int = 20240611, customers: int = 70) -> dict[str, str]:
    rng = random.Random(seed)

    # --- subscription events -------------------------------------------------------------
    ev = [
        (
            "event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,"
            "billing_period,unit_amount,quantity,discount_amount,currency"
        )
    ]
    n = 0

    def add(sub, cust, etype, eff, occ="", period="", unit="", qty="", disc="", cur="USD"):
        nonlocal n
        n += 1
        ev.append(f"ev{n:04d},{sub},{cust},{etype},{eff},{occ},{period},{unit},{qty},{disc},{cur}")

    for c in range(customers):
        cust = f"cu{c:03d}"
        for s in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
            sub = f"{cust}_s{s}"
            cur = rng.choice(["USD", "USD", "USD", "EUR", "GBP"])
            period = rng.choice(["month", "month", "month", "quarter", "year", ""])
            day = _day(rng, 0, DAYS - 20)

            def state(period=period):
                return {
                    "period": period,
                    "unit": rng.choice(["10", "19.99", "33.33", "100", "249.5", "1000", "7"]),
                    "qty": rng.choice(["", "1", "2", "3", "7", "0"]),
                    "disc": rng.choice(["", "", "0", "5", "12.5", "5000"]),
                }

            eff = _ts(rng, day)
            add(sub, cust, "created", eff, cur=cur, **state())
            for _ in range(rng.randrange(6)):
                if rng.random() < 0.15:  # same effective_at as the previous event: a tie
                    occ = rng.choice(["", (day - timedelta(days=rng.randrange(3))).isoformat()])
                    add(
                        sub, cust, rng.choice(["changed", "canceled"]), eff, occ, cur=cur, **state()
                    )
                    continue
                day = day + timedelta(days=rng.choice([0, 0, 1, 3, 10, 25, 40, 70]))
                eff = _ts(rng, day)
                etype = rng.choice(["changed", "changed", "canceled"])
                occ = ""
                if rng.random() < 0.2:  # recorded before it takes effect (scheduled)
                    occ = (day - timedelta(days=rng.randrange(30))).isoformat()
                if etype == "canceled":
                    add(sub, cust, etype, eff, occ, cur=cur)
                else:
                    add(sub, cust, etype, eff, occ, cur=cur, **state())
    ev.append(ev[1])  # an exact duplicate counts once

    # --- fx: landed rows override the seed on its dates and add others ------------------
    fx = ["rate_date,currency,rate_to_reporting"]
    for i, d in enumerate(range(0, DAYS, 17)):
        day = START + timedelta(days=d)
        fx.append(f"{day},EUR,{1.05 + 0.01 * (i % 7)}")
        fx.append(f"{day},GBP,{1.21 + 0.013 * (i % 5)}")
    fx.append("2024-01-01,EUR,1.2345")  # a seed date: the landed rate wins

    # --- customers: some missing, some re-landed with new attributes ---------------------
    cu = ["customer_id,created_at,name,segment,region,country,acquisition_channel,sales_rep_id"]
    relanded = []
    for c in range(customers + 5):  # 5 customers with no subscription
        if rng.random() < 0.85:
            row = (
                f"cu{c:03d},{_ts(rng, _day(rng, -30, DAYS))},Co {c},"
                f"{rng.choice(['smb', 'mid', 'ent', ''])},{rng.choice(['emea', 'amer', ''])},"
                f"{rng.choice(['DE', 'US', ''])},{rng.choice(['ads', 'seo', 'partner', ''])},"
                f"{rng.choice(['rep_01', 'rep_02', 'rep_x', ''])}"
            )
            cu.append(row)
            if rng.random() < 0.15:
                relanded.append(row.replace(",smb,", ",mid,").replace(",ads,", ",seo,"))
    cu += relanded

    # --- marketing spend: exact duplicate rows both count --------------------------------
    sp = ["spend_date,channel,amount,currency,cost_type,motion"]
    for _ in range(60):
        day = _day(rng, -40, DAYS + 30)
        sp.append(
            f"{day},{rng.choice(['ads', 'seo', 'partner', 'events'])},{rng.randrange(50, 900)},"
            f"{rng.choice(['USD', 'EUR', 'GBP'])},{rng.choice(['marketing', 'sales', ''])},"
            f"{rng.choice(['new_business', 'brand', 'expansion', ''])}"
        )
    sp.append(sp[-1])

    # --- users and product events -------------------------------------------------------
    us = ["user_id,customer_id,signed_up_at,acquisition_channel,email"]
    pe = ["event_id,event_name,occurred_at,user_id,anonymous_id,properties"]
    k = 0

    def event(name, t, user="", anon=""):
        nonlocal k
        k += 1
        pe.append(f"pe{k:05d},{name},{t},{user},{anon},")

    signups: dict[str, datetime] = {}
    for u in range(90):
        uid = f"u{u:03d}"
        day = _day(rng, 0, DAYS - 5)
        t = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))
        signed = t.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["", "Z", "-05:00", "+09:00"])
        if rng.random() < 0.9:  # the rest are users missing from `users`
            us.append(
                f"{uid},{rng.choice(['cu001', 'cu002', '', 'cu999'])},{signed},"
                f"{rng.choice(['ads', ''])},{uid}@example.com"
            )
        anon = f"a{u:03d}" if rng.random() < 0.7 else ""
        if anon:
            for _ in range(rng.randrange(1, 3)):
                event(
                    "page_view", (t - timedelta(hours=rng.randrange(1, 90))).isoformat(), "", anon
                )
        event("signed_up", signed, uid, anon)
        if rng.random() < 0.5:
            event("page_view", (t + timedelta(minutes=5)).isoformat(), uid)
        # activation around the window's edges (whole days and hours after signing up)
        if rng.random() < 0.8:
            delay = rng.choice(
                [
                    timedelta(hours=1),
                    timedelta(days=6, hours=23),
                    timedelta(days=7),
                    timedelta(days=7, hours=5),
                    timedelta(days=7, hours=20),
                    timedelta(days=8, hours=1),
                    timedelta(days=2),
                    timedelta(hours=-1),
                ]
            )
            act = t + delay
            event("activated", act.isoformat() + rng.choice(["", "Z"]), uid)
            if rng.random() < 0.7:
                proj = act + timedelta(
                    days=rng.choice([0, 1, 20, 29, 30, 31]), hours=rng.randrange(-2, 3)
                )
                event("project_created", proj.isoformat(), uid)
                if rng.random() < 0.6:
                    event(
                        "invite_sent",
                        (proj + timedelta(days=rng.randrange(0, 10))).isoformat(),
                        uid,
                    )
        for _ in range(rng.randrange(0, 25)):
            d = t + timedelta(days=rng.randrange(-3, 120), hours=rng.randrange(24))
            event(
                rng.choice(["feature_used", "feature_used", "report_viewed", "page_view"]),
                d.isoformat() + rng.choice(OFFSETS),
                uid,
            )
        signups[uid] = t
    for v in range(40):  # anonymous visitors who never sign up
        day = _day(rng)
        for _ in range(rng.randrange(1, 4)):
            event("page_view", _ts(rng, day), "", f"v{v:03d}")
    for t in EDGE_TIMES:
        event("feature_used", t, "u001")
    pe.append(pe[5])  # an exact duplicate counts once

    # --- invoices, bookings ---------------------------------------------------------------
    inv = ["invoice_id,customer_id,issued_at,amount,currency,revenue_type,status,product"]
    for i in range(260):
        inv.append(
            f"in{i:04d},cu{rng.randrange(customers + 8):03d},{_ts(rng, _day(rng, -20))},"
            f"{rng.choice(['10', '99.5', '250', '1000', '0', '33.33'])},"
            f"{rng.choice(['USD', 'USD', 'EUR', 'GBP'])},"
            f"{rng.choice(['subscription', 'usage', 'services', 'one_time', 'other', ''])},"
            f"{rng.choice(['paid', 'paid', 'paid', 'open', 'void', 'refunded', ''])},"
            f"{rng.choice(['core', 'core', 'analytics', 'mobile', ''])}"
        )
    for i in range(6):  # ties: equal revenue at the Pareto boundaries
        inv.append(f"tie{i},cu{60 + i:03d},2024-05-02T12:00:00Z,777,USD,services,paid,core")
    bk = [
        (
            "booking_id,customer_id,booked_at,contract_months,total_contract_value,currency,"
            "sales_rep_id,product,revenue_type,is_new_business"
        )
    ]
    for i in range(90):
        bk.append(
            f"bk{i:04d},cu{rng.randrange(customers):03d},{_ts(rng, _day(rng, -10))},"
            f"{rng.choice([1, 3, 6, 12, 12, 24, 36])},{rng.choice([100, 1200, 5000, 36000, 999.99])},"
            f"{rng.choice(['USD', 'EUR', 'GBP'])},{rng.choice(['rep_01', 'rep_02', 'rep_03', ''])},"
            f"{rng.choice(['core', 'analytics', ''])},"
            f"{rng.choice(['subscription', 'services', ''])},{rng.choice(['true', 'false', ''])}"
        )

    # --- leads, surveys, releases ----------------------------------------------------------
    ld = ["lead_id,created_at,channel,is_qualified,customer_id,converted_at"]
    for i in range(150):
        day = _day(rng, 15)  # the first weeks have none
        conv = ""
        if rng.random() < 0.3:
            conv = _ts(rng, day + timedelta(days=rng.randrange(0, 120)))
        ld.append(
            f"ld{i:04d},{_ts(rng, day)},{rng.choice(['ads', 'seo', ''])},"
            f"{rng.choice(['true', 'false', ''])},{'cu001' if conv else ''},{conv}"
        )
    sv = ["response_id,survey,responded_at,score,customer_id,user_id,comment"]
    for i in range(140):
        survey = rng.choice(["nps", "nps", "csat"])
        score = rng.randrange(11) if survey == "nps" else rng.randrange(1, 6)
        month_gap = rng.random() < 0.15  # leave some months without responses
        day = _day(rng, 0, 40) if month_gap else _day(rng, 80)
        sv.append(
            f"sv{i:04d},{survey},{_ts(rng, day)},{score},"
            f"{rng.choice(['cu001', 'cu002', 'cu003', '', 'cu998'])},"
            f"{rng.choice(['u001', 'u002', 'u050', '', 'zz'])},hello"
        )
    rl = ["release_id,name,planned_at,released_at,product,kind"]
    for i in range(40):
        planned = _day(rng, -400, DAYS)
        released = datetime(planned.year, planned.month, planned.day) + timedelta(
            days=rng.randrange(-10, 20), hours=rng.randrange(24)
        )
        rl.append(
            f"rl{i:03d},R{i},{rng.choice([planned.isoformat(), planned.isoformat() + 'T12:00:00Z', ''])},"
            f"{'' if rng.random() < 0.1 else released.strftime('%Y-%m-%dT%H:%M:%S') + 'Z'},"
            f"{rng.choice(['core', 'analytics', 'mobile', 'labs', ''])},"
            f"{rng.choice(['feature', 'product', ''])}"
        )
    # Each source's CSV lines, header first.
    sources = {
        "subscription_events": ev,
        "fx_rates": fx,
        "customers": cu,
        "marketing_spend": sp,
        "users": us,
        "product_events": pe,
        "invoices": inv,
        "bookings": bk,
        "leads": ld,
        "survey_responses": sv,
        "releases": rl,
    }
    return {name: "\n".join(lines) for name, lines in sources.items()}
