"""Revenue marts against an independent brute-force reference, on a random data set.

The fixtures in test_revenue_movements.py / test_revenue_unit_economics.py pin one fact each,
by hand. This test checks the same definitions (METRICS.md: Revenue, Churn and retention,
Unit economics, Customer cohorts) on a seeded random data set with everything mixed: several
subscriptions per customer, revivals, same-day create-and-cancel, ties on effective_at,
offsets, annual and quarterly plans, discounts larger than the price, EUR/GBP across rate
changes, future-dated events, a reporting time zone with daylight saving time. The reference
walks a customer x day calendar in Python (the way the models must not) with exact decimals.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dagster_project.settings import DBT_PROJECT_DIR
from tests.dbt_harness import build_fixture_warehouse, query, run_dbt

TZ = "America/New_York"
GROSS_MARGIN = 0.8
LTV_WINDOW = 6
SEED = 20240611
START = date(2023, 11, 1)
DAYS = 240
OFFSETS = ["", "Z", "+05:30", "-03:00", "+01:00", "-08:00"]
ZERO = Decimal(0)


def _money(x: float) -> Decimal:
    """As the models store state MRR: computed as DOUBLE, kept to 10 decimals."""
    return Decimal(repr(x)).quantize(Decimal("1e-10"))


# --- random data -------------------------------------------------------------------------

def _ts(rng: random.Random, day: date) -> str:
    t = datetime(day.year, day.month, day.day, rng.randrange(24), rng.choice([0, 15, 30, 59]))
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return text + rng.choice(OFFSETS)


def _generate() -> dict[str, str]:
    rng = random.Random(SEED)
    header = (
        "event_id,subscription_id,customer_id,event_type,effective_at,occurred_at,"
        "billing_period,unit_amount,quantity,discount_amount,currency"
    )
    events = [header]
    n = 0

    def add(sub: str, cust: str, etype: str, eff: str, occ: str = "", period: str = "",
            unit: str = "", qty: str = "", disc: str = "", cur: str = "USD") -> None:
        nonlocal n
        n += 1
        events.append(f"ev{n:04d},{sub},{cust},{etype},{eff},{occ},{period},{unit},{qty},{disc},{cur}")

    for c in range(70):
        cust = f"cu{c:03d}"
        for s in range(rng.choice([1, 1, 1, 2, 2, 3])):
            sub = f"{cust}_s{s}"
            cur = rng.choice(["USD", "USD", "USD", "EUR", "GBP"])
            period = rng.choice(["month", "month", "month", "quarter", "year", ""])
            day = START + timedelta(days=rng.randrange(DAYS - 20))

            def state(period: str = period) -> dict[str, str]:
                return {
                    "period": period,
                    "unit": rng.choice(["10", "19.99", "33.33", "100", "249.5", "1000", "7"]),
                    "qty": rng.choice(["", "1", "2", "3", "7"]),
                    "disc": rng.choice(["", "", "0", "5", "12.5", "5000"]),
                }

            eff = _ts(rng, day)
            add(sub, cust, "created", eff, cur=cur, **state())
            for _ in range(rng.randrange(6)):
                kind = rng.random()
                if kind < 0.15:  # same effective_at as the previous event: a tie
                    occ = rng.choice(["", (day - timedelta(days=rng.randrange(3))).isoformat()])
                    add(sub, cust, rng.choice(["changed", "canceled"]), eff, occ, cur=cur, **state())
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
    fx = ["rate_date,currency,rate_to_reporting"]
    for i, d in enumerate(range(0, DAYS, 17)):
        day = START + timedelta(days=d)
        fx.append(f"{day},EUR,{1.05 + 0.01 * (i % 7)}")
        fx.append(f"{day},GBP,{1.21 + 0.013 * (i % 5)}")
    customers = ["customer_id,created_at,segment,region,acquisition_channel"]
    for c in range(70):
        if rng.random() < 0.85:
            customers.append(
                f"cu{c:03d},2023-10-01,{rng.choice(['smb', 'mid', ''])},"
                f"{rng.choice(['emea', 'amer'])},{rng.choice(['ads', 'seo', 'partner', ''])}"
            )
    spend = ["spend_date,channel,amount,currency,motion"]
    for _ in range(60):
        day = START + timedelta(days=rng.randrange(DAYS + 30))
        spend.append(f"{day},{rng.choice(['ads', 'seo', 'partner'])},{rng.randrange(50, 900)},"
                     f"{rng.choice(['USD', 'EUR'])},{rng.choice(['new_business', 'brand', 'expansion'])}")
    return {
        "subscription_events": "\n".join(events),
        "fx_rates": "\n".join(fx),
        "customers": "\n".join(customers),
        "marketing_spend": "\n".join(spend),
    }


# --- reference ------------------------------------------------------------------------------

def _parse_utc(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:  # no offset: UTC (DATA_CONTRACT.md)
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _local_date(t: datetime) -> date:
    return t.astimezone(ZoneInfo(TZ)).date()


def _rows(text: str) -> list[dict[str, str]]:
    lines = [x for x in text.strip().splitlines() if x and not x.startswith("#")]
    return list(csv.DictReader(lines))


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass
class Reference:
    as_of: date
    movements: list[tuple]  # (customer, date, type, amount)
    saas: dict[date, dict]
    segments: dict[tuple, dict]
    cohorts: dict[tuple, tuple]


def _reference(data: dict[str, str]) -> Reference:
    # fx: seeds/fx_rates.csv plus landed rows (landed win on the same date and currency)
    rates: dict[tuple[str, date], float] = {}
    with open(Path(DBT_PROJECT_DIR).parent / "seeds" / "fx_rates.csv") as f:
        for r in csv.DictReader(f):
            rates[(r["currency"].upper(), date.fromisoformat(r["rate_date"]))] = float(r["rate_to_reporting"])
    for r in _rows(data["fx_rates"]):
        rates[(r["currency"], date.fromisoformat(r["rate_date"]))] = float(r["rate_to_reporting"])

    def rate(cur: str, d: date) -> float:
        if cur == "USD":
            return 1.0
        return rates[max(k for k in rates if k[0] == cur and k[1] <= d)]

    events = _rows(data["subscription_events"])
    for i, e in enumerate(events):
        e["order"] = i
        e["eff"] = _parse_utc(e["effective_at"])
        e["occ"] = _parse_utc(e["occurred_at"]) if e["occurred_at"] else e["eff"]
        e["eff_date"] = _local_date(e["eff"])
    as_of = max(_local_date(e["occ"]) for e in events)
    events = [e for e in events if e["eff_date"] <= as_of]
    sub_customer = {e["subscription_id"]: e["customer_id"] for e in events}

    def state_mrr(e: dict) -> Decimal:
        if e["event_type"] == "canceled":
            return ZERO
        r = rate(e["currency"], e["eff_date"])
        months = {"quarter": 3, "year": 12}.get(e["billing_period"], 1)
        qty = int(e["quantity"] or 1)
        disc = float(e["discount_amount"] or 0)
        return _money(max(float(e["unit_amount"]) * r * qty - disc * r, 0.0) / months)

    # end-of-day MRR per subscription: the last event of each local day
    by_sub: dict[str, list] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e["eff"], e["occ"], e["order"])):
        by_sub[e["subscription_id"]].append(e)
    sub_day_end: dict[str, dict[date, Decimal]] = {
        s: {e["eff_date"]: state_mrr(e) for e in evs} for s, evs in by_sub.items()
    }
    first_day = min(e["eff_date"] for e in events)
    days = [first_day + timedelta(days=i) for i in range((as_of - first_day).days + 1)]

    customer_mrr: dict[str, dict[date, Decimal]] = defaultdict(dict)  # customer x day
    for s, points in sub_day_end.items():
        current = ZERO
        cust = sub_customer[s]
        for d in days:
            current = points.get(d, current)
            customer_mrr[cust][d] = customer_mrr[cust].get(d, ZERO) + current

    def mrr_at(cust: str, d: date) -> Decimal:
        return customer_mrr[cust].get(d, ZERO) if d >= first_day else ZERO

    attrs = {r["customer_id"]: r for r in _rows(data["customers"])}

    def dims(cust: str) -> tuple[str, str, str]:
        r = attrs.get(cust, {})
        return tuple(r.get(k) or "unknown" for k in ("segment", "region", "acquisition_channel"))

    movements = []
    for cust in customer_mrr:
        active_before = False
        for d in days:
            p, c = mrr_at(cust, d - timedelta(days=1)), mrr_at(cust, d)
            if p != c:
                if p == 0:
                    kind, amount = ("reactivation" if active_before else "new"), c
                elif c == 0:
                    kind, amount = "churn", p
                elif c > p:
                    kind, amount = "expansion", c - p
                else:
                    kind, amount = "contraction", p - c
                movements.append((cust, d, kind, amount))
            active_before = active_before or c > 0

    months = []
    m = _month(first_day)
    while m <= _month(as_of):
        months.append(m)
        m = _next_month(m)

    def close(m: date) -> date:
        return min(_next_month(m) - timedelta(days=1), as_of)

    segments: dict[tuple, dict] = defaultdict(lambda: defaultdict(lambda: ZERO))
    saas: dict[date, dict] = {}
    for m in months:
        row: dict = defaultdict(lambda: ZERO)
        retained = 0
        nrr = grr = ZERO
        for cust in customer_mrr:
            s, e = mrr_at(cust, m - timedelta(days=1)), mrr_at(cust, close(m))
            seg = segments[(m, *dims(cust))]
            for target in (row, seg):
                target["mrr_start"] += s
                target["mrr_end"] += e
                target["customers_start"] += s > 0
                target["customers_end"] += e > 0
            if s > 0:
                retained += e > 0
                nrr += e
                grr += min(e, s)
        for cust, d, kind, amount in movements:
            if _month(d) == m:
                for target in (row, segments[(m, *dims(cust))]):
                    target[kind] += amount
                    target[kind + "_n"] += 1
        row["retained"], row["nrr"], row["grr"] = retained, nrr, grr
        saas[m] = row
    segments = {k: v for k, v in segments.items() if any(x != 0 for x in v.values())}

    spend_rows = _rows(data["marketing_spend"])
    for m in months:
        row = saas[m]
        row["spend"] = sum(
            float(r["amount"]) * rate(r["currency"], date.fromisoformat(r["spend_date"]))
            for r in spend_rows
            if _month(date.fromisoformat(r["spend_date"])) == m
            and date.fromisoformat(r["spend_date"]) <= as_of
        )

    cohort_of = {cust: _month(d) for cust, d, kind, _ in movements if kind == "new"}
    cohorts = {}
    for cm in sorted(set(cohort_of.values())):
        members = [c for c, m in cohort_of.items() if m == cm]
        for k, m in enumerate(x for x in months if x >= cm):
            active = sum(mrr_at(c, close(m)) > 0 for c in members)
            mrr = sum((mrr_at(c, close(m)) for c in members), ZERO)
            cohorts[(cm, k)] = (len(members), active, mrr)
    return Reference(as_of, movements, saas, segments, cohorts)


# --- the test ---------------------------------------------------------------------------------

def _ratio(a: float | Decimal, b: float | Decimal) -> float | None:
    return None if b == 0 else float(a) / float(b)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Reference]:
    data = _generate()
    path = tmp_path_factory.mktemp("revenue_reference") / "warehouse.duckdb"
    build_fixture_warehouse(path, data)
    run_dbt(path, ["build", "--select", "+path:models/marts/revenue"], {"reporting_timezone": TZ})
    return path, _reference(data)


def _close(got: object, want: object) -> bool:
    if want is None or got is None:
        return got is None and want is None
    return abs(float(got) - float(want)) < 1e-6


def test_revenue_movements_match_the_reference(built: tuple[Path, Reference]) -> None:
    wh, ref = built
    got = query(wh, "select customer_id, movement_date, movement_type, amount from marts.fct_mrr_movements"
                    " order by customer_id, movement_date")
    want = sorted(ref.movements)
    assert len(want) > 150  # the data set exercises many movements
    assert [g[:3] for g in got] == [w[:3] for w in want]
    assert all(_close(g[3], w[3]) for g, w in zip(got, want, strict=True))


def test_revenue_saas_metrics_match_the_reference(built: tuple[Path, Reference]) -> None:
    wh, ref = built
    cols = ("month, mrr_start, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr,"
            " mrr_end, customers_start, new_customers, reactivated_customers, churned_customers,"
            " customers_end, arpa, logo_churn_rate, customer_retention_rate, gross_mrr_churn_rate,"
            " net_mrr_churn_rate, net_revenue_retention, gross_revenue_retention, quick_ratio, ltv,"
            " sales_marketing_spend, cac, ltv_to_cac, cac_payback_months")
    got = query(wh, f"select {cols} from marts.saas_metrics_monthly order by month")
    assert [g[0] for g in got] == sorted(ref.saas)
    churn_rates: list[float | None] = []
    for g in got:
        r = ref.saas[g[0]]
        start, end = float(r["mrr_start"]), float(r["mrr_end"])
        losses = float(r["churn"] + r["contraction"])
        gains = float(r["new"] + r["expansion"] + r["reactivation"])
        logo = _ratio(r["churn_n"], r["customers_start"])
        churn_rates.append(logo)
        window = [x for x in churn_rates[-LTV_WINDOW:] if x is not None]
        mean = sum(window) / len(window) if window else None
        arpa = _ratio(end, r["customers_end"])
        ltv = None if not mean or arpa is None else arpa * GROSS_MARGIN / mean
        cac = _ratio(r["spend"], r["new_n"])
        payback = None
        if cac is not None and r["new_n"]:
            payback = _ratio(cac, float(r["new"]) / float(r["new_n"]) * GROSS_MARGIN)
        want = (
            g[0], start, r["new"], r["expansion"], r["reactivation"], r["contraction"], r["churn"],
            end, r["customers_start"], r["new_n"], r["reactivation_n"], r["churn_n"],
            r["customers_end"], arpa, logo, _ratio(r["retained"], r["customers_start"]),
            _ratio(losses, start), _ratio(losses - float(r["expansion"] + r["reactivation"]), start),
            _ratio(float(r["nrr"]), start), _ratio(float(r["grr"]), start), _ratio(gains, losses),
            ltv, r["spend"], cac, None if ltv is None or not cac else ltv / cac, payback,
        )
        bad = [c for c, a, b in zip(cols.split(", ")[1:], g[1:], want[1:], strict=True)
               if not _close(a, b)]
        assert not bad, (g[0], bad)


def test_revenue_segments_match_the_reference(built: tuple[Path, Reference]) -> None:
    wh, ref = built
    got = query(wh, """select month, segment, region, acquisition_channel, mrr_start, new_mrr,
                              expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr, mrr_end,
                              customers_start, new_customers, reactivated_customers,
                              churned_customers, customers_end
                       from marts.mrr_movements_monthly""")
    assert {g[:4] for g in got} == set(ref.segments)
    for g in got:
        r = ref.segments[g[:4]]
        want = (r["mrr_start"], r["new"], r["expansion"], r["reactivation"], r["contraction"],
                r["churn"], r["mrr_end"], r["customers_start"], r["new_n"], r["reactivation_n"],
                r["churn_n"], r["customers_end"])
        assert all(_close(a, b) for a, b in zip(g[4:], want, strict=True)), g[:4]


def test_revenue_cohorts_match_the_reference(built: tuple[Path, Reference]) -> None:
    wh, ref = built
    got = query(wh, """select cohort_month, months_since_start, cohort_customers, active_customers, mrr
                       from marts.customer_cohorts_monthly""")
    assert {g[:2] for g in got} == set(ref.cohorts)
    for g in got:
        n, active, mrr = ref.cohorts[g[:2]]
        assert g[2:4] == (n, active) and _close(g[4], mrr), g[:2]
