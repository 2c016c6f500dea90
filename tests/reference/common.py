"""Settings, calendar and currency helpers of the reference (docs/METRICS.md, Conventions)."""

from __future__ import annotations

import csv
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# docs/METRICS.md settings and their defaults (dbt vars).
DEFAULT_VARS: dict[str, object] = {
    "passive_events": [],
    "activation_event": "activated",
    "activation_window_days": 7,
    "funnel_window_days": 30,
    "referral_event": "invite_sent",
    "gross_margin": 0.8,
    "ltv_churn_window_months": 6,
    "tier_a_share": 0.8,
    "tier_b_share": 0.15,
    "smoothing_alpha": 0.5,
    "forecast_months": 3,
}


@dataclass(frozen=True)
class Config:
    reporting_timezone: str = "UTC"
    reporting_currency: str = "USD"
    as_of_date: date | None = None
    vars: dict[str, object] = field(default_factory=dict)
    seeds_dir: Path = SEEDS

    def var(self, name: str) -> object:
        return self.vars.get(name, DEFAULT_VARS[name])


def ratio(num: float | Fraction | None, den: float | Fraction | None) -> float | None:
    """A rate whose denominator is 0 (or unknown) is NULL; exact fractions stay exact."""
    if num is None or den is None or den == 0:
        return None
    if isinstance(num, (int, Fraction)) and isinstance(den, (int, Fraction)):
        return float(Fraction(num) / Fraction(den))
    return float(num) / float(den)


def month_of(d: date) -> date:
    return d.replace(day=1)


def add_months(m: date, n: int) -> date:
    y, mo = divmod(m.year * 12 + m.month - 1 + n, 12)
    return date(y, mo + 1, 1)


def month_end(m: date) -> date:
    return add_months(month_of(m), 1) - timedelta(days=1)


def quarter_of(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def week_of(d: date) -> date:
    """ISO weeks: Monday is the first day."""
    return d - timedelta(days=d.weekday())


def months_between(first: date, last: date) -> list[date]:
    out, m = [], month_of(first)
    while m <= month_of(last):
        out.append(m)
        m = add_months(m, 1)
    return out


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class Clock:
    """Local days of UTC instants in the reporting time zone."""

    def __init__(self, tz: str) -> None:
        self.zone = ZoneInfo(tz)
        self._local = lru_cache(maxsize=None)(self._local_date)

    def _local_date(self, t: datetime) -> date:
        return t.replace(tzinfo=UTC).astimezone(self.zone).date()

    def day(self, t: datetime | None) -> date | None:
        return None if t is None else self._local(t)


class Fx:
    """Reporting units per unit of a currency on a day, from one rate table in any base.

    Rows: seeds/fx_rates.csv and the landed fx_rates rows, each (rate_date, base, currency,
    rate): one unit of currency is worth rate units of base. A landed row with only
    rate_to_reporting and no base is in terms of the reporting currency. Landed rows win:
    on a date with landed rates, seed rows of that date in another base are set aside, and
    a landed rate wins over the seed's for the same date, base and currency.

    On a date t of base B, a currency C converts at r_B(C, t) / r_B(R, t), each the latest
    rate in base B on or before t (the base itself at 1). A money row converts at the
    latest such date on or before its own day. The reporting currency converts at 1."""

    def __init__(self, config: Config, landed: list[dict]) -> None:
        self.reporting = reporting = config.reporting_currency
        seed: dict[tuple[date, str, str], float] = {}
        with open(config.seeds_dir / "fx_rates.csv") as f:
            for r in csv.DictReader(f):
                base = (r.get("base_currency") or "").strip().upper() or reporting
                value = r.get("rate") or r.get("rate_to_reporting")
                seed[(date.fromisoformat(r["rate_date"]), base, r["currency"].strip().upper())] = \
                    float(value)
        landed_rates: dict[tuple[date, str, str], float] = {}
        for r in landed:
            base = r.get("base_currency") or reporting
            value = r["rate"] if r.get("rate") is not None else r["rate_to_reporting"]
            landed_rates.setdefault((r["rate_date"], base, r["currency"]), value)
        landed_bases: dict[date, set[str]] = {}
        for d, base, _ in landed_rates:
            landed_bases.setdefault(d, set()).add(base)
        kept = {k: v for k, v in seed.items()
                if k[0] not in landed_bases or landed_bases[k[0]] == {k[1]}}
        kept.update(landed_rates)
        # base -> currency -> ([days], [rates]); base -> its dates
        by_base: dict[str, dict[str, tuple[list[date], list[float]]]] = {}
        dates: dict[str, set[date]] = {}
        for (d, base, cur), value in sorted(kept.items()):
            days, values = by_base.setdefault(base, {}).setdefault(cur, ([], []))
            days.append(d)
            values.append(value)
            dates.setdefault(base, set()).add(d)

        def asof(base: str, cur: str, t: date) -> float | None:
            if cur == base:
                return 1.0
            days, values = by_base[base].get(cur, ([], []))
            i = bisect_right(days, t)
            return values[i - 1] if i else None

        self.series: dict[str, tuple[list[date], list[float]]] = {}
        points: dict[str, dict[date, float]] = {}
        for base, base_dates in dates.items():
            for t in base_dates:
                to_r = asof(base, reporting, t)
                if to_r is None:
                    continue
                for cur in by_base[base]:
                    value = asof(base, cur, t)
                    if value is not None and cur != reporting:
                        points.setdefault(cur, {})[t] = value / to_r
                if base != reporting:
                    points.setdefault(base, {})[t] = 1.0 / to_r
        for cur, by_day in points.items():
            days = sorted(by_day)
            self.series[cur] = (days, [by_day[d] for d in days])

    def rate(self, currency: str, d: date) -> float | None:
        if currency == self.reporting:
            return 1.0
        days, values = self.series.get(currency, ([], []))
        i = bisect_right(days, d)
        return values[i - 1] if i else None
