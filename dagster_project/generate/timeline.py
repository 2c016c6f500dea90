"""Time for the demo world: integer seconds since the first day, calendar helpers, seasonality.

Every timestamp in the generator is an ``int64`` number of seconds since ``start``
00:00 UTC; day ``d`` is ``t // DAY``. The *world* covers the landed window (days
``0 .. days-1``) plus one more day (``days``): the day :func:`land_next_day` lands. Both
entry points simulate the same world and only choose which rows to write, so the next
day is consistent with the data landed before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import TypeVar

import numpy as np

DAY = 86_400
MONTH_DAYS = 30.44

Table = TypeVar("Table")


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent random stream per (seed, component): changing how one component
    draws never shifts the numbers of another, so unrelated data stays put."""
    return np.random.default_rng([seed, *stream])


@dataclass
class Timeline:
    start: date
    days: int  # landed window: days 0 .. days-1; the world adds day `days`
    epoch: int = field(init=False)  # unix seconds of start 00:00 UTC
    dates: np.ndarray = field(init=False)  # datetime64[D] per world day
    month: np.ndarray = field(init=False)  # month index (0 = start's month) per world day
    month_starts: list[date] = field(init=False)
    season: np.ndarray = field(init=False)  # activity multiplier per world day

    def __post_init__(self) -> None:
        self.epoch = int(datetime(self.start.year, self.start.month, self.start.day,
                                  tzinfo=UTC).timestamp())
        self.start64 = np.datetime64(self.start, "D")
        self.dates = self.start64 + np.arange(self.world_days)
        m = self.dates.astype("datetime64[M]")
        self.month0 = m[0]
        self.month = (m - self.month0).astype(np.int64)
        self.month_starts = [
            (self.month0 + i).astype("datetime64[D]").item() for i in range(int(self.month[-1]) + 1)
        ]
        self.season = seasonality(self.dates)

    @property
    def world_days(self) -> int:
        return self.days + 1

    @property
    def world_end(self) -> int:
        """First second after the world (end of the next day)."""
        return self.world_days * DAY

    @property
    def last_day(self) -> date:
        return self.start.fromordinal(self.start.toordinal() + self.days - 1)

    @property
    def next_day(self) -> date:
        return self.start.fromordinal(self.start.toordinal() + self.days)

    def month_start_day(self, month: int) -> int:
        """Day index of the first day of month index ``month`` (may be < 0 for month 0)."""
        return int(((self.month0 + month).astype("datetime64[D]") - self.start64).astype(np.int64))

    def add_months(self, day: np.ndarray, months: np.ndarray) -> np.ndarray:
        """Day index ``months`` calendar months after ``day``, on the same day of the month;
        an anchor past the target month's end falls on its last day (as billing systems
        renew: the 31st renews on 30 April, 28 or 29 February)."""
        d = self.start64 + day
        m = d.astype("datetime64[M]")
        dom = (d - m.astype("datetime64[D]")).astype(np.int64)
        target = m + months
        days_in = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
        out = target.astype("datetime64[D]") + np.minimum(dom, days_in - 1)
        return (out - self.start64).astype(np.int64)

    def month_index(self, day: np.ndarray) -> np.ndarray:
        """Month index (0 = start's month) of day indexes, also outside the world."""
        d = self.start64 + day
        return (d.astype("datetime64[M]") - self.month0).astype(np.int64)

    def acquisition_weights(self, growth_per_year: float = 2.2) -> np.ndarray:
        """Relative intensity of new business per world day: compounding growth times the
        seasonality (sales close on weekdays, slow down in August and at year end)."""
        t = np.arange(self.world_days) / 365.25
        return np.exp(np.log(growth_per_year) * t) * self.season


def seasonality(dates: np.ndarray) -> np.ndarray:
    """Weekly and annual pattern of business activity per day."""
    dow = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekly = np.array([1.0, 1.04, 1.04, 1.0, 0.9, 0.32, 0.27])[dow]
    doy = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    annual = 1.0 + 0.07 * np.cos(2 * np.pi * (doy - 75) / 365.25)
    annual = np.where((doy >= 213) & (doy < 240), annual * 0.85, annual)  # August holidays
    annual = np.where(doy >= 354, annual * 0.6, annual)  # between Christmas and New Year
    return weekly * annual


def grouped_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum restarting at each new value of ``group`` (sorted, contiguous)."""
    c = np.cumsum(values)
    if len(values) == 0:
        return c
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    base = np.repeat(c[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return c - base


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, value) for every integer in each half-open range [lo, hi)."""
    n = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo), dtype=lo.dtype), n)
    if len(owner) == 0:
        return owner, owner.copy()
    offset = np.arange(len(owner), dtype=lo.dtype) - np.repeat(np.cumsum(n, dtype=lo.dtype) - n, n)
    return owner, lo[owner] + offset


def take_rows(table: Table, rows: np.ndarray) -> Table:
    """``table`` (a dataclass of row-aligned arrays) with every array indexed by ``rows``:
    its rows in that order, or only those. A field that is not an array (a count) is kept."""
    columns = {f.name: getattr(table, f.name) for f in fields(table)}
    taken = {name: values[rows] for name, values in columns.items()
             if isinstance(values, np.ndarray)}
    return replace(table, **taken)


def first_in_group(group: np.ndarray) -> np.ndarray:
    """Boolean mask of the first element of each run in a sorted ``group`` array."""
    out = np.ones(len(group), dtype=bool)
    out[1:] = group[1:] != group[:-1]
    return out
