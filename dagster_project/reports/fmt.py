"""Numbers for people: money, percentages, counts and ratios as the KPI report shows them.

The marts stay unrounded (docs/METRICS.md, Conventions: rounding); only these functions round,
and only for display. ``None`` (a NULL metric) is shown as an em dash, never as 0.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

MINUS = "\u2212"  # a real minus sign: easier to read than a hyphen beside digits
DASH = "\u2014"
SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5", "INR": "\u20b9"}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# (threshold, divisor, suffix) for compact numbers, largest first.
_COMPACT = [(1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e3, 1e3, "k")]


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def currency_prefix(currency: str) -> str:
    """'$' for USD, '€' for EUR, else the ISO code and a thin space ('CHF ')."""
    return SYMBOLS.get(currency.upper(), currency.upper() + "\u2009")


def _sign(value: float) -> str:
    return MINUS if value < 0 else ""


def _trim(text: str) -> str:
    """'1.50' -> '1.5', '2.0' -> '2' (only after a decimal point)."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def compact(value: float, digits: int = 3) -> str:
    """1234 -> '1.23k', 1_500_000 -> '1.5M', 999 -> '999', 12.5 -> '12.5' (about `digits`
    significant digits, trailing zeros dropped)."""
    v = abs(value)
    for threshold, divisor, suffix in _COMPACT:
        # 999_950 would print as '1000k': move it up to the next unit first.
        if v >= threshold * (1 - 0.5 * 10**-digits):
            scaled = v / divisor
            decimals = max(digits - len(str(int(scaled))), 0)
            return _sign(value) + _trim(f"{scaled:.{decimals}f}") + suffix
    if v >= 100 or v == 0:
        return _sign(value) + f"{v:.0f}"
    decimals = max(digits - len(str(int(v))), 0)
    return _sign(value) + _trim(f"{v:.{decimals}f}")


def money(value: float | None, currency: str = "USD", *, exact: bool = False) -> str:
    """Compact money ('$1.23M', '−$5.2k'); ``exact`` gives whole units ('$1,234,567')."""
    if is_missing(value):
        return DASH
    prefix = currency_prefix(currency)
    if exact:
        return _sign(value) + prefix + f"{abs(value):,.0f}"
    return _sign(value) + prefix + compact(abs(value))


def signed_money(value: float | None, currency: str = "USD") -> str:
    if is_missing(value):
        return DASH
    return ("+" if value >= 0 else MINUS) + money(abs(value), currency)


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: 0.0246 -> '2.5%'."""
    if is_missing(value):
        return DASH
    text = f"{abs(value) * 100:.{digits}f}%"
    return (MINUS if value < 0 and float(text[:-1]) != 0 else "") + text


def pct_points(value: float | None, digits: int = 1) -> str:
    """A change of a fraction in percentage points: 0.012 -> '+1.2 pp'."""
    if is_missing(value):
        return DASH
    return ("+" if value >= 0 else MINUS) + f"{abs(value) * 100:.{digits}f} pp"


def count(value: float | None) -> str:
    if is_missing(value):
        return DASH
    if float(value).is_integer():
        return _sign(value) + f"{abs(value):,.0f}"
    return _sign(value) + f"{abs(value):,.1f}"


def ratio(value: float | None) -> str:
    """'3.2×' (one decimal under 10, none above)."""
    if is_missing(value):
        return DASH
    return (
        _sign(value) + (f"{abs(value):.1f}" if abs(value) < 10 else f"{abs(value):,.0f}") + "\u00d7"
    )


def months(value: float | None) -> str:
    if is_missing(value):
        return DASH
    return _sign(value) + f"{abs(value):.1f} mo"


def score(value: float | None) -> str:
    """NPS points on the −100..100 scale: '25' or '−3'."""
    if is_missing(value):
        return DASH
    return _sign(value) + f"{abs(value):.0f}"


def value(v: float | None, unit: str | None, currency: str = "USD") -> str:
    """A value by the unit names of marts.kpi_scorecard (money, fraction, count, ratio, months,
    score, percent)."""
    if unit == "money":
        return money(v, currency)
    if unit == "fraction":
        return pct(v)
    if unit == "count":
        return count(v)
    if unit == "ratio":
        return ratio(v)
    if unit == "months":
        return months(v)
    if unit == "score":
        return score(v)
    if unit == "percent":
        return DASH if is_missing(v) else _sign(v) + f"{abs(v):.1f}%"
    if is_missing(v):
        return DASH
    return compact(v)


def change(v: float | None, unit: str | None, currency: str = "USD") -> str:
    """A difference between two values of `unit`, always signed."""
    if is_missing(v):
        return DASH
    if unit == "fraction":
        return pct_points(v)
    if unit == "percent":
        return ("+" if v >= 0 else MINUS) + f"{abs(v):.1f} pp"
    return ("+" if v >= 0 else MINUS) + value(abs(v), unit, currency)


def month_label(month: dt.date, with_year: bool = True) -> str:
    """'Dec 2025' or 'Dec'."""
    return f"{MONTHS[month.month - 1]} {month.year}" if with_year else MONTHS[month.month - 1]


def month_tick(month: dt.date) -> str:
    """'Jan 25' style: short enough for an axis, unambiguous across years."""
    return f"{MONTHS[month.month - 1]} {month.year % 100:02d}"


def quarter_label(start: dt.date) -> str:
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def tick_labels(ticks: list[float], kind: str, currency: str = "USD") -> list[str]:
    """Axis labels for `ticks` with just enough decimals to tell neighbours apart.

    kind: 'money', 'count', 'fraction' (shown as %), 'ratio', 'months', 'score', 'number'.
    """
    if not ticks:
        return []
    step = min((abs(b - a) for a, b in itertools.pairwise(ticks) if b != a), default=1.0)
    if kind == "fraction":
        decimals = _decimals_for(step * 100)
        return [_sign(t) + f"{abs(t) * 100:.{decimals}f}%" if t else "0%" for t in ticks]
    if kind in {"money", "count", "number"}:
        top = max(abs(t) for t in ticks)
        divisor, suffix = 1.0, ""
        for threshold, div, suf in _COMPACT:
            # counts read best in full up to 9,999 (no '0.8k' customers)
            if top >= threshold and (kind == "money" or top >= 10_000):
                divisor, suffix = div, suf
                break
        decimals = _decimals_for(step / divisor)
        prefix = currency_prefix(currency) if kind == "money" else ""
        out = []
        for t in ticks:
            if t == 0:
                out.append(prefix + "0")
                continue
            body = f"{abs(t) / divisor:,.{decimals}f}"
            out.append(_sign(t) + prefix + body + suffix)
        return out
    decimals = _decimals_for(step)
    suffix = {"ratio": "\u00d7", "months": " mo"}.get(kind, "")
    return [(_sign(t) + f"{abs(t):.{decimals}f}" if t else "0") + suffix for t in ticks]


def _decimals_for(step: float) -> int:
    """Decimals needed so that ticks `step` apart print differently (0.25 -> 2, 5 -> 0)."""
    if step <= 0:
        return 0
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return decimals
