"""What every part of the reference shares: the landed rows, settings, clock, rates, the
as-of date and the customers' current attributes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from tests.reference.common import Clock, Config, Fx
from tests.reference.landing import Landed

UNKNOWN = "unknown"


class Context:
    def __init__(self, landed: Landed, config: Config) -> None:
        self.rows = landed.rows
        self.config = config
        self.clock = Clock(config.reporting_timezone)
        self.fx = Fx(config, landed.rows.get("fx_rates", []))
        self.as_of = self._as_of()
        # The last landed row of a customer gives its current attributes (landing keeps it).
        self.customers = {r["customer_id"]: r for r in self.rows["customers"]}

    def day(self, t):  # local day of a UTC instant
        return self.clock.day(t)

    def reported(self, source: str, column: str) -> Iterator[tuple[date, dict]]:
        """(day, row) for each row of ``source`` (in landing order) whose timestamp ``column``
        falls, as a reporting day, on or before the as-of date."""
        for r in self.rows[source]:
            d = self.day(r[column])
            if d <= self.as_of:
                yield d, r

    def attr(self, customer_id: str | None, name: str) -> str:
        row = self.customers.get(customer_id) if customer_id is not None else None
        value = row.get(name) if row else None
        return UNKNOWN if value is None else value

    def to_reporting(self, amount: float, currency: str, d: date) -> float:
        rate = self.fx.rate(currency, d)
        if rate is None:
            raise ValueError(f"no fx rate for {currency} on {d}")
        return amount * rate

    def _as_of(self) -> date | None:
        """docs/METRICS.md: the as_of_date setting; else the latest day on which a subscription
        event occurred (occurred_at, else effective_at); with none, the latest day of any
        landed event or record date (not fx_rates, not releases.planned_at)."""
        if self.config.as_of_date:
            return self.config.as_of_date
        subs = self.rows["subscription_events"]
        if subs:
            return max(self.day(e["occurred_at"] or e["effective_at"]) for e in subs)
        days: list[date] = []
        stamps = {
            "product_events": ["occurred_at"],
            "users": ["signed_up_at"],
            "customers": ["created_at"],
            "invoices": ["issued_at"],
            "bookings": ["booked_at"],
            "leads": ["created_at", "converted_at"],
            "survey_responses": ["responded_at"],
            "releases": ["released_at"],
        }
        for source, cols in stamps.items():
            for r in self.rows[source]:
                days += [self.day(r[c]) for c in cols if r[c] is not None]
        days += [r["spend_date"] for r in self.rows["marketing_spend"]]
        return max(days) if days else None
