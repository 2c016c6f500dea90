"""Reference lists of the demo world: segments, geography, channels, plans, event names.

Values that reach the landing files are looked up from these tuples by integer code
inside DuckDB (``list[code + 1]``), so rows never go through Python strings one by one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dagster_project.settings import SEEDS_DIR

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = (0.65, 0.27, 0.08)
REGIONS = ("na", "emea", "apac")
REGION_SHARE = (0.50, 0.35, 0.15)

# Customer acquisition channels and their mix per segment (rows follow SEGMENTS).
CHANNELS = ("organic", "paid_search", "social", "partner", "outbound")
CHANNEL_MIX = (
    (0.40, 0.30, 0.15, 0.10, 0.05),
    (0.20, 0.20, 0.05, 0.20, 0.35),
    (0.10, 0.05, 0.00, 0.25, 0.60),
)
# Paid channels in marketing_spend (organic costs nothing; events brings no direct logos).
SPEND_CHANNELS = ("paid_search", "social", "partner", "events", "outbound")

CURRENCIES = ("USD", "EUR", "GBP")
# Local list price per USD list price (price books are set in whole units per currency).
PRICE_FACTOR = np.array([1.0, 0.92, 0.79])
# Approximate USD value of one unit, for budgets set in USD but paid locally.
USD_PER_UNIT = np.array([1.0, 1.08, 1.27])


@dataclass(frozen=True)
class Country:
    code: str
    region: int
    currency: int
    utc_offset_min: int  # for local business hours and local-time timestamps
    legal_suffix: str
    share: float  # within its region


COUNTRIES = (
    Country("US", 0, 0, -300, "Inc", 0.85),
    Country("CA", 0, 0, -300, "Ltd", 0.15),
    Country("GB", 1, 2, 0, "Ltd", 0.30),
    Country("DE", 1, 1, 60, "GmbH", 0.22),
    Country("FR", 1, 1, 60, "SAS", 0.14),
    Country("NL", 1, 1, 60, "BV", 0.10),
    Country("ES", 1, 1, 60, "SL", 0.08),
    Country("IE", 1, 1, 0, "Ltd", 0.06),
    Country("SE", 1, 0, 60, "AB", 0.06),
    Country("CH", 1, 0, 60, "AG", 0.04),
    Country("AU", 2, 0, 600, "Pty Ltd", 0.40),
    Country("SG", 2, 0, 480, "Pte Ltd", 0.25),
    Country("JP", 2, 0, 540, "KK", 0.15),
    Country("IN", 2, 0, 330, "Pvt Ltd", 0.20),
)
COUNTRY_CODES = tuple(c.code for c in COUNTRIES)
COUNTRY_REGION = np.array([c.region for c in COUNTRIES])
COUNTRY_CURRENCY = np.array([c.currency for c in COUNTRIES])
COUNTRY_OFFSET = np.array([c.utc_offset_min for c in COUNTRIES])
LEGAL_SUFFIXES = tuple(c.legal_suffix for c in COUNTRIES)

NAME_WORDS_A = (
    "Blue", "North", "Bright", "Silver", "Quiet", "Rapid", "Clear", "Summit", "Harbor", "Iron",
    "Maple", "Cedar", "Granite", "Coral", "Amber", "Polar", "Lumen", "Vertex", "Orbit", "Nimbus",
    "Atlas", "Beacon", "Copper", "Delta", "Echo", "Falcon", "Golden", "Horizon", "Indigo", "Juniper",
    "Kestrel", "Lighthouse",
)
NAME_WORDS_B = (
    "Labs", "Systems", "Analytics", "Works", "Logistics", "Health", "Foods", "Media", "Capital",
    "Robotics", "Energy", "Studios", "Partners", "Networks", "Retail", "Software", "Bio",
    "Mobility", "Learning", "Insurance", "Travel", "Security", "Cloud", "Commerce",
)

# Sales reps (seeds/sales_reps.csv): rep numbers (1..8) of each team (smb, mid-market,
# enterprise), and which team member covers each region; rep 0 = no rep (self-serve).
TEAM_REPS = np.array([[6, 7, 8], [3, 4, 5], [1, 2, 0]])
TEAM_SIZE = np.array([3, 3, 2])
TEAM_SLOT_BY_REGION = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 0]])
REP_BY_SEGMENT_REGION = np.take_along_axis(TEAM_REPS, TEAM_SLOT_BY_REGION, axis=1)

PERIODS = ("month", "quarter", "year")
PERIOD_MONTHS = np.array([1, 3, 12])
TIERS = ("starter", "growth", "business", "addon")
PRODUCTS = ("core", "analytics")


@dataclass(frozen=True)
class PlanBook:
    """seeds/plans.csv as lookup tables by (tier code, period code)."""

    plan_ids: tuple[str, ...]  # index = tier * 3 + period; "" where no such plan
    usd_price: np.ndarray  # (4, 3), NaN where no such plan

    @property
    def available(self) -> np.ndarray:
        return ~np.isnan(self.usd_price)

    def best_tier(self, tier: np.ndarray, period: np.ndarray) -> np.ndarray:
        """The highest core tier <= ``tier`` that is sold with ``period`` (fallback 0)."""
        out = np.zeros_like(tier)
        for t in range(3):  # 3 tiers: a loop over the plan table, not over rows
            ok = self.available[t][period] & (tier >= t)
            out = np.where(ok, t, out)
        return out


def load_plans(path: Path = SEEDS_DIR / "plans.csv") -> PlanBook:
    ids = [""] * 12
    price = np.full((4, 3), np.nan)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["tier"] not in TIERS or row["billing_period"] not in PERIODS:
                continue
            t, p = TIERS.index(row["tier"]), PERIODS.index(row["billing_period"])
            ids[t * 3 + p] = row["plan_id"]
            price[t, p] = float(row["unit_amount"])
    for t in range(4):
        if np.isnan(price[t, 0]):
            raise ValueError(f"seeds/plans.csv: no monthly plan for tier {TIERS[t]}")
    return PlanBook(tuple(ids), price)


# Product events. Funnel steps are emitted once per user at the right moments; the rest
# are drawn for every active user-day with these weights.
FUNNEL_EVENTS = ("signed_up", "activated", "project_created", "invite_sent", "page_view")
EVENT_NAMES = (
    "page_view", "signed_up", "activated", "project_created", "invite_sent", "report_viewed",
    "dashboard_viewed", "search_performed", "file_uploaded", "comment_added", "export_created",
    "settings_updated", "integration_connected", "email_opened", "notification_clicked",
)
EV = {name: i for i, name in enumerate(EVENT_NAMES)}
ROUTINE_EVENTS = np.array([
    EV["page_view"], EV["report_viewed"], EV["dashboard_viewed"], EV["project_created"],
    EV["search_performed"], EV["file_uploaded"], EV["comment_added"], EV["export_created"],
    EV["invite_sent"], EV["settings_updated"], EV["integration_connected"], EV["email_opened"],
    EV["notification_clicked"],
])
ROUTINE_WEIGHTS = np.array([30, 18, 14, 3, 8, 4, 6, 3, 1.5, 1.5, 0.5, 9, 3], dtype=float)
ROUTINE_WEIGHTS /= ROUTINE_WEIGHTS.sum()

PAGES = ("dashboard", "reports", "projects", "settings", "billing", "integrations", "help", "home")
REPORTS = ("mrr", "churn", "cohorts", "funnel", "usage", "pipeline")
EXPORT_FORMATS = ("csv", "xlsx", "pdf")
ROLES = ("member", "admin", "viewer")
SECTIONS = ("profile", "notifications", "security", "team")
INTEGRATIONS = ("slack", "salesforce", "hubspot", "jira", "bigquery")
CAMPAIGNS = ("weekly_digest", "product_update", "onboarding", "webinar")
NOTIFY_CHANNELS = ("email", "in_app", "push")

FEATURES = (
    "Dashboards v2", "Saved filters", "Scheduled reports", "SSO", "Audit log", "Dark mode",
    "CSV import", "Slack alerts", "Custom roles", "Cohort charts", "Forecasts", "API v3",
    "Mobile app", "Goal tracking", "Data retention controls", "Workflow builder",
    "Anomaly alerts", "Segment builder", "Sharing links", "Usage-based limits",
)
ANALYTICS_FEATURES = (
    "Funnels", "Retention matrix", "SQL editor", "Attribution", "Benchmarks", "Paths",
    "Experiments", "Warehouse sync",
)

COMMENTS_POSITIVE = (
    "Love the new dashboards", "Support solved it in minutes", "Saves our team hours every week",
    "Easy to set up", "Great product, keep going", "The reports are exactly what we needed",
)
COMMENTS_NEUTRAL = (
    "Does the job", "OK, but the UI could be faster", "Would like more integrations",
    "Pricing is a bit high for us", "Documentation could be clearer",
)
COMMENTS_NEGATIVE = (
    "Too slow to load reports", "Billing was confusing", "Missing features we were promised",
    "Support took days to answer", "We had several outages this month",
)
# Free text sometimes carries personal data: the pipeline must keep it out of the marts.
COMMENTS_PERSONAL = (
    "Please call me back, Jane Doe +44 20 7946 0958",
    "Contact me at jane.doe@example.com about the invoice",
    "Ask for Max Mustermann in finance",
)
