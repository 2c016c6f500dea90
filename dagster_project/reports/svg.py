"""Charts as inline SVG, drawn by hand: no chart library, no network, crisp at any zoom.

The geometry (scales, ticks, waterfall steps, colour ramps, label thinning) is in pure
functions that tests check by hand; :class:`Chart` collects marks inside a plot box and
renders one ``<svg>``. Every data mark has ``class="mark"`` (the browser test counts them)
and a ``<title>`` (the browser shows it as a tooltip). Looks are presentation attributes,
not CSS classes, and no element has an id, so the same SVG works inline in the report
(many charts on one page) and as an ``<img>`` in the Dagster UI.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from dagster_project.reports import fmt

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
AXIS = "#9aa5b1"
PRIMARY = "#1f5fa8"
PRIMARY_LIGHT = "#a9c6ea"
SECONDARY = "#e08a1e"
GOOD = "#2e7d32"
GOOD_MID = "#66bb6a"
GOOD_LIGHT = "#b5dfb7"
BAD = "#c62828"
BAD_LIGHT = "#ef9a9a"
WARN = "#e6a100"
NEUTRAL = "#9aa5b1"

# Gains are green, losses red, in every chart.
MOVEMENT_COLOURS = {
    "new": GOOD,
    "expansion": GOOD_MID,
    "reactivation": GOOD_LIGHT,
    "contraction": BAD_LIGHT,
    "churned": BAD,
}
STATUS_COLOURS = {"on_track": GOOD, "at_risk": WARN, "off_track": BAD, "no_data": NEUTRAL}
CATEGORICAL = ["#1f5fa8", "#e08a1e", "#7b61a8", "#2a9d8f", "#c2185b", "#8d6e63", "#607d8b"]
# Sequential blues for heatmaps: (position in 0..1, colour).
HEAT_STOPS = [
    (0.0, "#f4f8fc"),
    (0.25, "#c6dbef"),
    (0.5, "#6baed6"),
    (0.75, "#2171b5"),
    (1.0, "#08306b"),
]

CHAR_WIDTH = 0.6  # estimated glyph width of the sans fonts above, in em
REF_SIZE = 10.5  # font size of reference-line labels


# ---------------------------------------------------------------------------- geometry


def linear(domain: tuple[float, float], range_: tuple[float, float]) -> Callable[[float], float]:
    """The linear map of ``domain`` onto ``range_`` (a flat domain maps to the middle)."""
    (d0, d1), (r0, r1) = domain, range_
    if d1 == d0:
        return lambda _v: (r0 + r1) / 2
    k = (r1 - r0) / (d1 - d0)
    return lambda v: r0 + (v - d0) * k


def nice_step(span: float, count: int = 5) -> float:
    """The 1, 2, 2.5 or 5 x 10^k step that cuts ``span`` into at most about ``count`` parts."""
    if span <= 0:
        return 1.0
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude * (1 + 1e-9):
            return m * magnitude
    return 10 * magnitude


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round ticks from a multiple of the step at or below ``lo`` to one at or above ``hi``."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = (0.0, hi + pad) if lo >= 0 and lo - pad < 0 else (lo - pad, hi + pad)
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    n = round((end - start) / step)
    return [round(start + i * step, 10) + 0.0 for i in range(n + 1)]


def text_width(text: str, size: float = 11) -> float:
    """Estimated width of ``text`` in pixels (sans fonts, average glyph 0.6 em)."""
    return len(text) * size * CHAR_WIDTH


def label_step(slot: float, widest: float, gap: float = 8) -> int:
    """Show every k-th of labels ``slot`` px apart so that the widest (px) never touches the next."""
    if slot <= 0:
        return 1
    return max(1, math.ceil((widest + gap) / slot))


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _rgb_to_hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(v))):02x}" for v in rgb)


def mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b`` (each channel linear in sRGB)."""
    ra, rb = _hex_to_rgb(a), _hex_to_rgb(b)
    return _rgb_to_hex([x + (y - x) * t for x, y in zip(ra, rb, strict=True)])


def heat_colour(
    value: float | None,
    lo: float = 0.0,
    hi: float = 1.0,
    stops: Sequence[tuple[float, str]] = HEAT_STOPS,
) -> str:
    """Colour of a heatmap cell: ``value`` placed on [lo, hi] (clamped), interpolated between
    the two ``stops`` around it. NULL is a neutral grey."""
    if fmt.is_missing(value):
        return "#eceff1"
    t = 0.0 if hi == lo else (value - lo) / (hi - lo)
    t = max(0.0, min(1.0, t))
    for (p0, c0), (p1, c1) in itertools.pairwise(stops):
        if t <= p1:
            return mix(c0, c1, 0.0 if p1 == p0 else (t - p0) / (p1 - p0))
    return stops[-1][1]


def text_on(background: str) -> str:
    """Dark or white text, whichever reads better on ``background`` (WCAG relative luminance)."""

    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _hex_to_rgb(background))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return INK if luminance > 0.36 else "#ffffff"


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a ``total`` (drawn from the baseline) or a ``delta``."""

    label: str
    value: float
    kind: str = "delta"  # 'total' or 'delta'
    colour: str | None = None


@dataclass(frozen=True)
class Span:
    label: str
    lo: float
    hi: float
    kind: str
    value: float


def waterfall_geometry(steps: Sequence[Step]) -> list[Span]:
    """Value-space spans of a waterfall: a total spans [0, value] and resets the running
    level; a delta spans from the running level to level + value, so each bar starts where
    the previous one ended."""
    level = 0.0
    spans: list[Span] = []
    for step in steps:
        if step.kind == "total":
            spans.append(Span(step.label, 0.0, step.value, "total", step.value))
            level = step.value
        else:
            end = level + step.value
            spans.append(Span(step.label, min(level, end), max(level, end), "delta", step.value))
            level = end
    return spans


def delta_levels(deltas: Sequence[float]) -> list[tuple[float, float]]:
    """(from, to) of each delta of a waterfall starting at 0: to_i = from_{i+1}."""
    level = 0.0
    out: list[tuple[float, float]] = []
    for d in deltas:
        out.append((level, level + d))
        level += d
    return out


# ---------------------------------------------------------------------------- drawing


def _n(v: float) -> str:
    """A coordinate, two decimals at most."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _title(text: str | None) -> str:
    return f"<title>{escape(text)}</title>" if text else ""


def value_text(v: float | None, kind: str, currency: str = "USD") -> str:
    """A value for labels and tooltips, by axis kind."""
    if kind == "money":
        return fmt.money(v, currency)
    if kind == "fraction":
        return fmt.pct(v)
    if kind == "ratio":
        return fmt.ratio(v)
    if kind == "months":
        return fmt.months(v)
    if kind == "score":
        return fmt.score(v)
    if kind == "count":
        return fmt.count(v)
    return fmt.DASH if fmt.is_missing(v) else fmt.compact(v)


@dataclass
class LegendItem:
    label: str
    colour: str
    shape: str = "box"  # 'box', 'line', 'dash', 'band', 'dot'


class Chart:
    """A plot box in a ``width`` x ``height`` SVG, with optional heading and legend on top.

    Axes set the scales (``y_axis``, ``x_bands``, ``x_points``); marks use them.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 280,
        *,
        heading: str | None = None,
        legend: Sequence[LegendItem] = (),
        left: int = 66,
        right: int = 18,
        bottom: int = 46,
        top_pad: int = 10,
        label: str = "chart",
    ) -> None:
        self.width, self.height, self.label = width, height, label
        self.parts: list[str] = []
        y = 0
        if heading:
            y += 22
            self.parts.append(self.text_svg(0, 16, heading, size=14, weight="600"))
        if legend:
            rows = self._legend(legend, left, width - right, y + 14)
            y += 18 * rows
        self.x0, self.x1 = float(left), float(width - right)
        self.y0, self.y1 = float(y + top_pad + 6), float(height - bottom)
        self.y: Callable[[float], float] = linear((0, 1), (self.y1, self.y0))
        self.y_domain = (0.0, 1.0)
        self.centres: list[float] = []
        self.slot = 0.0
        self.bandwidth = 0.0

    # -- text and legend
    @staticmethod
    def text_svg(
        x: float,
        y: float,
        text: str,
        *,
        size: float = 11,
        fill: str = INK,
        anchor: str = "start",
        weight: str | None = None,
        rotate: float | None = None,
        cls: str = "label",
    ) -> str:
        attrs = [
            f'x="{_n(x)}"',
            f'y="{_n(y)}"',
            f'font-size="{_n(size)}"',
            f'fill="{fill}"',
            f'class="{cls}"',
        ]
        if anchor != "start":
            attrs.append(f'text-anchor="{anchor}"')
        if weight:
            attrs.append(f'font-weight="{weight}"')
        if rotate is not None:
            attrs.append(f'transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"')
        return f"<text {' '.join(attrs)}>{escape(text)}</text>"

    def text(self, x: float, y: float, text: str, **kw: object) -> None:
        self.parts.append(self.text_svg(x, y, text, **kw))  # type: ignore[arg-type]

    def _legend(self, items: Sequence[LegendItem], x_start: float, x_end: float, y: float) -> int:
        x, rows = x_start, 1
        for item in items:
            w = 22 + text_width(item.label, 11) + 14
            if x + w > x_end and x > x_start:
                x, y, rows = x_start, y + 18, rows + 1
            self.parts.append(self._swatch(item, x, y - 4))
            self.parts.append(self.text_svg(x + 20, y, item.label, fill=MUTED))
            x += w
        return rows

    @staticmethod
    def _swatch(item: LegendItem, x: float, y: float) -> str:
        c = item.colour
        if item.shape == "line":
            return f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 14)}" y2="{_n(y)}" stroke="{c}" stroke-width="2.5"/>'
        if item.shape == "dash":
            return (
                f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 14)}" y2="{_n(y)}" stroke="{c}" '
                'stroke-width="2" stroke-dasharray="4 2"/>'
            )
        if item.shape == "dot":
            return f'<circle cx="{_n(x + 7)}" cy="{_n(y)}" r="4" fill="{c}"/>'
        opacity = ' fill-opacity="0.35"' if item.shape == "band" else ""
        return (
            f'<rect x="{_n(x)}" y="{_n(y - 5)}" width="14" height="10" rx="2" fill="{c}"{opacity}/>'
        )

    # -- axes
    def y_axis(
        self,
        lo: float,
        hi: float,
        *,
        kind: str,
        unit: str,
        currency: str = "USD",
        count: int = 5,
        include_zero: bool = True,
        ticks: list[float] | None = None,
    ) -> list[float]:
        if include_zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        ticks = ticks or nice_ticks(lo, hi, count)
        self.y_domain = (ticks[0], ticks[-1])
        self.y = linear(self.y_domain, (self.y1, self.y0))
        labels = fmt.tick_labels(ticks, kind, currency)
        for t, text in zip(ticks, labels, strict=True):
            y = self.y(t)
            colour = AXIS if t == 0 else GRID
            self.parts.append(
                f'<line x1="{_n(self.x0)}" y1="{_n(y)}" x2="{_n(self.x1)}" '
                f'y2="{_n(y)}" stroke="{colour}" stroke-width="1" class="grid"/>'
            )
            self.text(self.x0 - 6, y + 4, text, anchor="end", fill=MUTED, cls="tick")
        self.text(
            14, (self.y0 + self.y1) / 2, unit, anchor="middle", fill=MUTED, rotate=-90, cls="unit"
        )
        return ticks

    def x_bands(
        self, labels: Sequence[str], *, padding: float = 0.28, title: str | None = None
    ) -> None:
        n = max(len(labels), 1)
        self.slot = (self.x1 - self.x0) / n
        self.bandwidth = self.slot * (1 - padding)
        self.centres = [self.x0 + self.slot * (i + 0.5) for i in range(len(labels))]
        self._x_labels([(c, lab) for c, lab in zip(self.centres, labels, strict=True)], self.slot)
        if title:
            self.x_title(title)

    def x_points(
        self, n: int, ticks: Sequence[tuple[int, str]], *, title: str | None = None
    ) -> Callable[[float], float]:
        """A continuous x axis over indices 0..n-1; ``ticks`` are (index, label)."""
        x = linear((0, max(n - 1, 1)), (self.x0, self.x1))
        self.centres = [x(i) for i in range(n)]
        self.slot = (self.x1 - self.x0) / max(n - 1, 1)
        if ticks:
            # Ticks may be unevenly spaced (months of 28-31 days): use the smallest gap.
            gaps = [x(b) - x(a) for (a, _), (b, _) in itertools.pairwise(ticks)]
            slot = min(gaps) if gaps else self.x1 - self.x0
            self._x_labels([(x(i), lab) for i, lab in ticks], slot)
        if title:
            self.x_title(title)
        return x

    def _x_labels(self, placed: Sequence[tuple[float, str]], slot: float) -> None:
        if not placed:
            return
        widest = max(text_width(lab, 11) for _, lab in placed)
        step = label_step(slot, widest)
        # Keep the last label (the latest period) and step back from it.
        last = len(placed) - 1
        for i, (x, lab) in enumerate(placed):
            if (last - i) % step:
                continue
            self.parts.append(
                f'<line x1="{_n(x)}" y1="{_n(self.y1)}" x2="{_n(x)}" '
                f'y2="{_n(self.y1 + 4)}" stroke="{AXIS}" class="grid"/>'
            )
            self.text(x, self.y1 + 17, lab, anchor="middle", fill=MUTED, cls="tick")

    def x_title(self, text: str) -> None:
        self.text(
            (self.x0 + self.x1) / 2, self.height - 8, text, anchor="middle", fill=MUTED, cls="unit"
        )

    # -- marks
    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str,
        title: str | None = None,
        *,
        opacity: float | None = None,
        rx: float = 0,
        stroke: str | None = None,
    ) -> None:
        extra = f' fill-opacity="{_n(opacity)}"' if opacity is not None else ""
        extra += f' rx="{_n(rx)}"' if rx else ""
        extra += f' stroke="{stroke}" stroke-width="1"' if stroke else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" '
            f'fill="{fill}"{extra} class="mark">{_title(title)}</rect>'
        )

    def bar(
        self,
        centre: float,
        width: float,
        v0: float,
        v1: float,
        fill: str,
        title: str | None = None,
        *,
        opacity: float | None = None,
    ) -> None:
        top, bottom = self.y(max(v0, v1)), self.y(min(v0, v1))
        self.rect(centre - width / 2, top, width, bottom - top, fill, title, opacity=opacity)

    def path(
        self,
        points: Sequence[tuple[float, float] | None],
        stroke: str,
        *,
        width: float = 2,
        dash: str | None = None,
        title: str | None = None,
        opacity: float | None = None,
    ) -> None:
        """A polyline through pixel points; None breaks the line (a NULL value)."""
        d, pen_down = [], False
        for p in points:
            if p is None:
                pen_down = False
                continue
            d.append(("L" if pen_down else "M") + f"{_n(p[0])} {_n(p[1])}")
            pen_down = True
        if not d:
            return
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' stroke-opacity="{_n(opacity)}"' if opacity is not None else ""
        self.parts.append(
            f'<path d="{" ".join(d)}" fill="none" stroke="{stroke}" stroke-width="{_n(width)}" '
            f'stroke-linejoin="round" stroke-linecap="round"{extra} class="mark">{_title(title)}</path>'
        )

    def area(
        self,
        upper: Sequence[tuple[float, float]],
        lower: Sequence[tuple[float, float]],
        fill: str,
        *,
        opacity: float = 0.25,
        title: str | None = None,
    ) -> None:
        if not upper:
            return
        pts = list(upper) + list(reversed(lower))
        d = "M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in pts) + " Z"
        self.parts.append(
            f'<path d="{d}" fill="{fill}" fill-opacity="{_n(opacity)}" stroke="none" '
            f'class="mark">{_title(title)}</path>'
        )

    def dot(
        self, x: float, y: float, fill: str, *, r: float = 3.5, title: str | None = None
    ) -> None:
        self.parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}" '
            f'stroke="#ffffff" stroke-width="1.5" class="mark">{_title(title)}</circle>'
        )

    def hline(self, value: float, label: str, colour: str = MUTED, *, dash: str = "5 4") -> None:
        """A reference line across the plot, labelled in the right margin (never over marks)."""
        if not (self.y_domain[0] <= value <= self.y_domain[1]):
            return
        y = self.y(value)
        self.parts.append(
            f'<line x1="{_n(self.x0)}" y1="{_n(y)}" x2="{_n(self.x1 + 3)}" y2="{_n(y)}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}" class="ref"/>'
        )
        self.text(
            self.x1 + 6, y + 4, label, size=REF_SIZE, fill=colour, weight="600", cls="ref-label"
        )

    def render(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" role="img" aria-label="{escape(self.label)}" '
            f'font-family="{escape(FONT)}" font-size="11">'
            + f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>'
            + "".join(self.parts)
            + "</svg>"
        )


# ---------------------------------------------------------------------------- charts


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    colour: str
    dash: str | None = None
    width: float = 2.2
    dots: bool = False  # a dot on every value (sparse series)
    label_last: bool = False  # write the last value at the end of the line


@dataclass
class Band:
    name: str
    low: Sequence[float | None]
    high: Sequence[float | None]
    colour: str


@dataclass
class Ref:
    value: float
    label: str
    colour: str = MUTED


@dataclass
class XYSpec:
    """What :func:`xy_chart` draws. ``categories`` are x labels (bands), or dates for a
    continuous daily axis (``continuous=True``, lines and bands only)."""

    categories: Sequence[str | dt.date]
    kind: str
    unit: str
    x_title: str
    bars: Sequence[Series] = ()
    lines: Sequence[Series] = ()
    bands: Sequence[Band] = ()
    refs: Sequence[Ref] = ()
    stacked: bool = True
    continuous: bool = False
    currency: str = "USD"
    faded: frozenset[int] = frozenset()  # indices drawn lighter (a month to date)
    y_cap: float | None = None  # values above are drawn at the cap, with their value written
    y_floor: float | None = None
    include_zero: bool = True
    bar_colours: Sequence[str] | None = None  # one colour per category (single bar series)
    heading: str | None = None
    width: int = 640
    height: int = 280
    label: str = "chart"
    extra_legend: Sequence[LegendItem] = field(default_factory=list)


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if not fmt.is_missing(v)]


def _category_text(c: str | dt.date) -> str:
    return fmt.month_tick(c) if isinstance(c, dt.date) else str(c)


def _month_ticks(dates: Sequence[dt.date]) -> list[tuple[int, str]]:
    return [(i, fmt.month_tick(d)) for i, d in enumerate(dates) if d.day == 1]


def xy_chart(spec: XYSpec) -> str:
    """Bars (stacked or grouped, positive up and negative down), lines and bands on one
    value axis over categories or days."""
    legend = [LegendItem(s.name, s.colour, "box") for s in spec.bars if s.name]
    legend += [LegendItem(b.name, b.colour, "band") for b in spec.bands if b.name]
    legend += [
        LegendItem(s.name, s.colour, "dash" if s.dash else "line") for s in spec.lines if s.name
    ]
    legend += list(spec.extra_legend)
    right = max([18.0] + [text_width(r.label, REF_SIZE) + 12 for r in spec.refs])
    chart = Chart(
        spec.width,
        spec.height,
        heading=spec.heading,
        legend=legend,
        label=spec.label,
        right=math.ceil(right),
    )
    n = len(spec.categories)

    # value range: stacked sums, band edges, lines, references
    values: list[float] = []
    if spec.stacked and spec.bars:
        for i in range(n):
            pos = sum(max(float(s.values[i] or 0), 0) for s in spec.bars)
            neg = sum(min(float(s.values[i] or 0), 0) for s in spec.bars)
            values += [pos, neg]
    else:
        for s in spec.bars:
            values += _finite(s.values)
    for s in spec.lines:
        values += _finite(s.values)
    for b in spec.bands:
        values += _finite(b.low) + _finite(b.high)
    values += [r.value for r in spec.refs]
    if not values:
        values = [0.0, 1.0]
    lo, hi = min(values), max(values)
    if spec.y_cap is not None:
        hi = min(hi, spec.y_cap)
    if spec.y_floor is not None:
        lo = max(lo, spec.y_floor)
    chart.y_axis(
        lo,
        hi,
        kind=spec.kind,
        unit=spec.unit,
        currency=spec.currency,
        include_zero=spec.include_zero,
    )
    y_lo, y_hi = chart.y_domain

    def clamp(v: float) -> float:
        return max(y_lo, min(y_hi, v))

    if spec.continuous:
        dates = [c for c in spec.categories if isinstance(c, dt.date)]
        chart.x_points(n, _month_ticks(dates) if len(dates) == n else [], title=spec.x_title)
    else:
        chart.x_bands([_category_text(c) for c in spec.categories], title=spec.x_title)
    labels = [
        (_category_text(c) if not isinstance(c, dt.date) or not spec.continuous else c.isoformat())
        for c in spec.categories
    ]

    # bands under everything
    for b in spec.bands:
        upper, lower = [], []
        for i in range(n):
            if fmt.is_missing(b.low[i]) or fmt.is_missing(b.high[i]):
                continue
            upper.append((chart.centres[i], chart.y(clamp(float(b.high[i])))))
            lower.append((chart.centres[i], chart.y(clamp(float(b.low[i])))))
        chart.area(upper, lower, b.colour, opacity=0.22, title=b.name)

    # bars
    if spec.bars:
        groups = 1 if spec.stacked else len(spec.bars)
        width = chart.bandwidth / groups
        for i in range(n):
            pos = neg = 0.0
            for g, s in enumerate(spec.bars):
                v = s.values[i]
                if fmt.is_missing(v):
                    continue
                v = float(v)
                colour = spec.bar_colours[i] if spec.bar_colours else s.colour
                opacity = 0.45 if i in spec.faded else None
                title = f"{labels[i]} · {s.name or spec.unit}: {value_text(v, spec.kind, spec.currency)}"
                if spec.stacked:
                    base = pos if v >= 0 else neg
                    top = base + v
                    if v >= 0:
                        pos = top
                    else:
                        neg = top
                    centre = chart.centres[i]
                else:
                    base, top = 0.0, v
                    centre = chart.centres[i] - chart.bandwidth / 2 + width * (g + 0.5)
                chart.bar(
                    centre,
                    width * (0.92 if groups > 1 else 1),
                    clamp(base),
                    clamp(top),
                    colour,
                    title,
                    opacity=opacity,
                )
                if top > y_hi or top < y_lo:
                    # cut at the axis: say so, and write the true value inside the bar
                    y_edge = chart.y(clamp(top))
                    arrow = "\u2191 " if top > y_hi else "\u2193 "
                    y_text = y_edge + 6 if top > y_hi else y_edge - 6
                    chart.text(
                        centre + 3.5,
                        y_text,
                        arrow + value_text(v, spec.kind, spec.currency),
                        anchor="end" if top > y_hi else "start",
                        size=9.5,
                        fill=text_on(colour),
                        rotate=-90,
                        weight="600",
                        cls="clip",
                    )

    # lines
    for s in spec.lines:
        pts: list[tuple[float, float] | None] = []
        for i in range(n):
            v = s.values[i]
            pts.append(None if fmt.is_missing(v) else (chart.centres[i], chart.y(clamp(float(v)))))
        chart.path(pts, s.colour, width=s.width, dash=s.dash, title=s.name)
        if s.dots or sum(p is not None for p in pts) == 1:
            for i, p in enumerate(pts):
                if p is not None:
                    chart.dot(
                        p[0],
                        p[1],
                        s.colour,
                        r=3,
                        title=f"{labels[i]} · {s.name}: {value_text(s.values[i], spec.kind, spec.currency)}",
                    )
        if s.label_last:
            last = max((i for i, p in enumerate(pts) if p is not None), default=None)
            if last is not None:
                x, y = pts[last]  # type: ignore[misc]
                chart.dot(
                    x,
                    y,
                    s.colour,
                    r=3.5,
                    title=f"{labels[last]} · {s.name}: {value_text(s.values[last], spec.kind, spec.currency)}",
                )

    for r in spec.refs:
        chart.hline(r.value, r.label, r.colour)
    return chart.render()


def waterfall_chart(
    steps: Sequence[Step],
    *,
    kind: str = "money",
    unit: str,
    currency: str = "USD",
    heading: str | None = None,
    width: int = 640,
    height: int = 280,
    label: str = "waterfall",
) -> str:
    """The classic bridge: totals from the baseline, each delta from where the last ended.

    When the totals dwarf the deltas the value axis starts above zero (so that the movements
    can be seen); the totals then carry a zig-zag at the bottom to say that they are cut.
    """
    spans = waterfall_geometry(steps)
    chart = Chart(width, height, heading=heading, label=label, bottom=40)
    levels = [s.hi for s in spans if s.kind == "total"] + [s.lo for s in spans if s.kind == "delta"]
    levels += [s.hi for s in spans if s.kind == "delta"]
    lo, hi = min(levels + [0.0]), max(levels + [0.0])
    delta_lo = min((s.lo for s in spans if s.kind == "delta"), default=lo)
    totals = [s.hi for s in spans if s.kind == "total"]
    truncated = bool(totals) and delta_lo > 0 and (hi - delta_lo) < 0.6 * delta_lo
    if truncated:
        span = hi - delta_lo or abs(hi) * 0.1 or 1.0
        ticks = nice_ticks(delta_lo - 0.35 * span, hi + 0.08 * span, 5)
        chart.y_axis(
            ticks[0],
            ticks[-1],
            kind=kind,
            unit=unit,
            currency=currency,
            include_zero=False,
            ticks=ticks,
        )
    else:
        chart.y_axis(lo, hi, kind=kind, unit=unit, currency=currency)
    chart.x_bands([s.label for s in steps], padding=0.3)
    base = chart.y_domain[0]
    prev_end: tuple[float, float] | None = None  # (x right edge, y level)
    for i, (step, span) in enumerate(zip(steps, spans, strict=True)):
        c = chart.centres[i]
        w = chart.bandwidth
        if span.kind == "total":
            colour = step.colour or PRIMARY
            chart.bar(
                c,
                w,
                max(base, 0.0) if not truncated else base,
                span.hi,
                colour,
                f"{step.label}: {value_text(span.value, kind, currency)}",
            )
            level = span.hi
            text = value_text(span.value, kind, currency)
            if truncated:
                # zig-zag: this bar does not start at zero
                y = chart.y1 - 7
                zz = " ".join(
                    f"{_n(c - w / 2 + k * w / 6)} {_n(y + (3 if k % 2 else -3))}" for k in range(7)
                )
                chart.parts.append(
                    f'<polyline points="{zz}" fill="none" stroke="#ffffff" stroke-width="2.5" class="break"/>'
                )
        else:
            colour = step.colour or (GOOD if span.value >= 0 else BAD)
            chart.bar(
                c,
                w,
                span.lo,
                span.hi,
                colour,
                f"{step.label}: {fmt.signed_money(span.value, currency) if kind == 'money' else value_text(span.value, kind, currency)}",
            )
            level = span.hi if span.value >= 0 else span.lo
            text = (
                fmt.signed_money(span.value, currency)
                if kind == "money"
                else value_text(span.value, kind, currency)
            )
        if prev_end is not None:
            y = chart.y(prev_end[1])
            chart.parts.append(
                f'<line x1="{_n(prev_end[0])}" y1="{_n(y)}" x2="{_n(c - w / 2)}" '
                f'y2="{_n(y)}" stroke="{AXIS}" stroke-dasharray="2 2" class="connector"/>'
            )
        prev_end = (c + w / 2, level)
        top = chart.y(span.hi)
        chart.text(
            c,
            top - 6,
            text,
            anchor="middle",
            size=11,
            weight="600",
            fill=INK
            if span.kind == "total"
            else colour
            if colour not in (GOOD_LIGHT, BAD_LIGHT)
            else MUTED,
        )
    return chart.render()


MOVEMENTS = [
    ("new", "New"),
    ("expansion", "Expansion"),
    ("reactivation", "Reactivation"),
    ("contraction", "Contraction"),
    ("churned", "Churned"),
]


def monthly_waterfall_chart(
    months: Sequence[dt.date],
    movements: Sequence[dict[str, float]],
    *,
    currency: str = "USD",
    unit: str,
    faded: frozenset[int] = frozenset(),
    heading: str | None = None,
    width: int = 1240,
    height: int = 300,
    label: str = "monthly MRR waterfall",
) -> str:
    """One small waterfall per month: new, expansion and reactivation step up from 0,
    contraction and churn step down, each bar starting where the previous one ended; the
    black tick is where the month ends, its net new MRR."""
    legend = [LegendItem(name, MOVEMENT_COLOURS[key]) for key, name in MOVEMENTS]
    legend.append(LegendItem("Net new MRR", INK, "line"))
    chart = Chart(width, height, heading=heading, legend=legend, label=label)
    per_month: list[list[tuple[float, float]]] = []
    extremes = [0.0]
    for m in movements:
        deltas = [
            float(m.get(k) or 0) * (1 if k in ("new", "expansion", "reactivation") else -1)
            for k, _ in MOVEMENTS
        ]
        levels = delta_levels(deltas)
        per_month.append(levels)
        extremes += [v for pair in levels for v in pair]
    chart.y_axis(min(extremes), max(extremes), kind="money", unit=unit, currency=currency)
    chart.x_bands([fmt.month_tick(m) for m in months], padding=0.18, title="Month")
    sub = chart.bandwidth / len(MOVEMENTS)
    for i, levels in enumerate(per_month):
        left = chart.centres[i] - chart.bandwidth / 2
        opacity = 0.45 if i in faded else None
        for j, ((a, b), (key, name)) in enumerate(zip(levels, MOVEMENTS, strict=True)):
            x = left + sub * (j + 0.5)
            amount = b - a
            chart.bar(
                x,
                sub * 0.86,
                a,
                b,
                MOVEMENT_COLOURS[key],
                f"{fmt.month_label(months[i])} · {name}: {fmt.signed_money(amount, currency)}",
                opacity=opacity,
            )
        net = levels[-1][1]
        y = chart.y(net)
        chart.parts.append(
            f'<line x1="{_n(left - 1)}" y1="{_n(y)}" x2="{_n(left + chart.bandwidth + 1)}" y2="{_n(y)}" '
            f'stroke="{INK}" stroke-width="2.5" class="mark">'
            f"{_title(f'{fmt.month_label(months[i])} · Net new MRR: {fmt.signed_money(net, currency)}')}</line>"
        )
    return chart.render()


def heatmap_chart(
    rows: Sequence[str],
    cols: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    kind: str = "fraction",
    lo: float = 0.0,
    hi: float = 1.0,
    x_title: str,
    y_title: str,
    sizes: Sequence[str] | None = None,
    heading: str | None = None,
    width: int = 1240,
    label: str = "heatmap",
) -> str:
    """A cohort triangle: one row per cohort, one column per period since its start; a
    missing cell (not yet reached) is left blank. ``sizes`` are written after each row label."""
    left = 120 if sizes else 70
    ncols = max(len(cols), 1)
    cell_w = (width - left - 18) / ncols
    cell_h = 20.0 if len(rows) <= 30 else 14.0
    legend_y = 22 if heading else 0
    top = legend_y + 34
    height = int(top + cell_h * len(rows) + 46)
    chart = Chart(width, height, heading=heading, left=left, bottom=46, label=label)
    chart.y0, chart.y1 = float(top), float(top + cell_h * len(rows))
    # colour key, top right
    key_x = width - 18 - 5 * 44
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        colour = heat_colour(v, lo, hi)
        chart.parts.append(
            f'<rect x="{_n(key_x + 44 * k)}" y="{legend_y + 6}" width="44" height="10" fill="{colour}"/>'
        )
        if k % 2 == 0:  # label the ends and the middle
            chart.text(
                key_x + 44 * k + 22,
                legend_y + 28,
                fmt.pct(v, 0) if kind == "fraction" else value_text(v, kind),
                anchor="middle",
                size=10,
                fill=MUTED,
            )
    show_values = cell_w >= 30 and cell_h >= 14
    for r, row in enumerate(values):
        y = chart.y0 + r * cell_h
        chart.text(
            left - 8, y + cell_h / 2 + 4, rows[r], anchor="end", fill=MUTED, cls="tick", size=10.5
        )
        if sizes:
            chart.text(8, y + cell_h / 2 + 4, sizes[r], fill=MUTED, size=10, cls="tick")
        for c, v in enumerate(row):
            if v is None:
                continue
            x = left + c * cell_w
            colour = heat_colour(v, lo, hi)
            chart.rect(
                x + 0.5,
                y + 0.5,
                cell_w - 1,
                cell_h - 1,
                colour,
                f"{y_title} {rows[r]}, {x_title.lower()} {cols[c]}: {value_text(v, kind)}",
            )
            if show_values and not fmt.is_missing(v):
                chart.text(
                    x + cell_w / 2,
                    y + cell_h / 2 + 3.5,
                    f"{v * 100:.0f}" if kind == "fraction" else value_text(v, kind),
                    anchor="middle",
                    size=9.5,
                    fill=text_on(colour),
                    cls="cell",
                )
    step = label_step(cell_w, max((text_width(c, 10.5) for c in cols), default=10))
    for c, text in enumerate(cols):
        if c % step == 0:
            chart.text(
                left + (c + 0.5) * cell_w,
                chart.y1 + 15,
                text,
                anchor="middle",
                fill=MUTED,
                cls="tick",
                size=10.5,
            )
    chart.text(
        left + (width - left - 18) / 2, height - 8, x_title, anchor="middle", fill=MUTED, cls="unit"
    )
    if sizes:
        chart.text(8, top - 6, "size", fill=MUTED, size=10, cls="unit")
    chart.text(left - 8, top - 6, y_title, anchor="end", fill=MUTED, size=10, cls="unit")
    return chart.render()


def funnel_chart(
    steps: Sequence[tuple[str, float]],
    *,
    heading: str | None = None,
    width: int = 640,
    label: str = "funnel",
) -> str:
    """Centred bars, one per step, as wide as its users; beside each, the conversion from
    the step before and from the first step."""
    row_h, gap, top = 34.0, 8.0, (30 if heading else 8)
    height = int(top + len(steps) * (row_h + gap) + 10)
    chart = Chart(width, height, heading=heading, left=150, right=170, bottom=10, label=label)
    first = steps[0][1] if steps else 0
    widest = max((v for _, v in steps), default=0) or 1
    plot_w = chart.x1 - chart.x0
    centre = (chart.x0 + chart.x1) / 2
    prev = None
    for i, (name, users) in enumerate(steps):
        y = top + i * (row_h + gap)
        w = plot_w * users / widest
        colour = mix(PRIMARY, PRIMARY_LIGHT, i / max(len(steps) - 1, 1) * 0.7)
        step_rate = (users / prev) if prev else None
        overall = (users / first) if first else None
        chart.rect(
            centre - w / 2,
            y,
            w,
            row_h,
            colour,
            f"{name}: {fmt.count(users)} (from previous step {fmt.pct(step_rate)}, overall {fmt.pct(overall)})",
            rx=3,
        )
        chart.text(chart.x0 - 10, y + row_h / 2 + 4, name, anchor="end", size=12, fill=INK)
        inside = fmt.count(users)
        fits = text_width(inside, 12) + 10 < w
        chart.text(
            centre if fits else centre + w / 2 + 6,
            y + row_h / 2 + 4,
            inside,
            anchor="middle" if fits else "start",
            size=12,
            weight="600",
            fill=text_on(colour) if fits else INK,
        )
        if step_rate is not None:
            chart.text(
                chart.x1 + 10,
                y + row_h / 2 - 2,
                f"{fmt.pct(step_rate)} of previous",
                size=11,
                fill=INK,
            )
            chart.text(
                chart.x1 + 10,
                y + row_h / 2 + 12,
                f"{fmt.pct(overall)} of first step",
                size=10,
                fill=MUTED,
            )
        prev = users
    return chart.render()


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    colours: Sequence[str],
    *,
    kind: str,
    unit: str,
    refs: Sequence[Ref] = (),
    notes: Sequence[str] | None = None,
    currency: str = "USD",
    heading: str | None = None,
    width: int = 640,
    label: str = "bars",
) -> str:
    """Horizontal bars with their value at the end; ``refs`` are vertical reference lines."""
    row_h = 24.0
    left = int(min(max((text_width(t, 11.5) for t in labels), default=40) + 16, 200))
    top = 30 if heading else 8
    height = int(top + len(labels) * row_h + 48)
    chart = Chart(width, height, heading=heading, left=left, right=70, bottom=44, label=label)
    chart.y0, chart.y1 = float(top), float(top + len(labels) * row_h)
    vals = _finite(values) + [r.value for r in refs] + [0.0]
    ticks = nice_ticks(min(vals), max(vals), 5)
    x = linear((ticks[0], ticks[-1]), (chart.x0, chart.x1))
    for t, text in zip(ticks, fmt.tick_labels(ticks, kind, currency), strict=True):
        chart.parts.append(
            f'<line x1="{_n(x(t))}" y1="{_n(chart.y0)}" x2="{_n(x(t))}" y2="{_n(chart.y1)}" '
            f'stroke="{AXIS if t == 0 else GRID}" class="grid"/>'
        )
        chart.text(x(t), chart.y1 + 15, text, anchor="middle", fill=MUTED, cls="tick")
    chart.text((chart.x0 + chart.x1) / 2, height - 8, unit, anchor="middle", fill=MUTED, cls="unit")
    for i, (name, v) in enumerate(zip(labels, values, strict=True)):
        y = chart.y0 + i * row_h
        chart.text(left - 8, y + row_h / 2 + 4, name, anchor="end", size=11.5, fill=INK)
        if fmt.is_missing(v):
            chart.text(x(0) + 4, y + row_h / 2 + 4, "no data", fill=MUTED, size=10.5)
            continue
        a, b = sorted((x(0), x(float(v))))
        note = f" · {notes[i]}" if notes and notes[i] else ""
        chart.rect(
            a,
            y + 4,
            b - a,
            row_h - 8,
            colours[i],
            f"{name}: {value_text(v, kind, currency)}{note}",
            rx=2,
        )
        chart.text(
            b + 5, y + row_h / 2 + 4, value_text(v, kind, currency), size=11, fill=INK, weight="600"
        )
    for r in refs:
        xr = x(r.value)
        chart.parts.append(
            f'<line x1="{_n(xr)}" y1="{_n(chart.y0 - 4)}" x2="{_n(xr)}" y2="{_n(chart.y1)}" '
            f'stroke="{r.colour}" stroke-width="1.5" stroke-dasharray="5 4" class="ref"/>'
        )
        chart.text(
            xr + 4, chart.y0 - 6 if top > 8 else chart.y1 + 30, r.label, size=10.5, fill=r.colour
        )
    return chart.render()


def share_bars_chart(
    rows: Sequence[tuple[str, Sequence[tuple[str, float, str]]]],
    *,
    heading: str | None = None,
    width: int = 640,
    label: str = "shares",
) -> str:
    """100% horizontal bars: each row is a whole cut into named shares, labelled inside."""
    row_h, gap = 40.0, 18.0
    top = 30 if heading else 10
    legend_names: list[LegendItem] = []
    for _, parts in rows:
        for name, _, colour in parts:
            if name not in {item.label for item in legend_names}:
                legend_names.append(LegendItem(name, colour))
    height = int(top + 24 + len(rows) * (row_h + gap) + 26)
    chart = Chart(
        width,
        height,
        heading=heading,
        legend=legend_names,
        left=140,
        right=18,
        bottom=30,
        label=label,
    )
    x = linear((0, 1), (chart.x0, chart.x1))
    for i, (name, parts) in enumerate(rows):
        y = chart.y0 + 6 + i * (row_h + gap)
        chart.text(chart.x0 - 10, y + row_h / 2 + 4, name, anchor="end", size=12, fill=INK)
        acc = 0.0
        for part, share, colour in parts:
            a, b = x(acc), x(acc + share)
            chart.rect(
                a, y, b - a, row_h, colour, f"{name} · {part}: {fmt.pct(share)}", stroke="#ffffff"
            )
            text = f"{part} {fmt.pct(share, 0)}"
            if text_width(text, 11.5) + 8 < b - a:
                chart.text(
                    (a + b) / 2,
                    y + row_h / 2 + 4,
                    text,
                    anchor="middle",
                    size=11.5,
                    fill=text_on(colour),
                    weight="600",
                )
            elif text_width(fmt.pct(share, 0), 11) + 6 < b - a:
                chart.text(
                    (a + b) / 2,
                    y + row_h / 2 + 4,
                    fmt.pct(share, 0),
                    anchor="middle",
                    size=11,
                    fill=text_on(colour),
                )
            acc += share
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        chart.text(x(t), height - 12, fmt.pct(t, 0), anchor="middle", fill=MUTED, cls="tick")
    return chart.render()


def sparkline(
    values: Sequence[float | None],
    *,
    colour: str = PRIMARY,
    width: int = 120,
    height: int = 34,
    label: str = "trend",
) -> str:
    """A tiny line of the recent trend, the last value dotted; no axes."""
    pts = [(i, float(v)) for i, v in enumerate(values) if not fmt.is_missing(v)]
    parts = []
    if pts:
        lo, hi = min(v for _, v in pts), max(v for _, v in pts)
        x = linear((0, max(len(values) - 1, 1)), (3, width - 5))
        y = linear((lo, hi), (height - 4, 4)) if hi > lo else (lambda _v: height / 2)
        d = " ".join(
            ("M" if k == 0 else "L") + f"{_n(x(i))} {_n(y(v))}" for k, (i, v) in enumerate(pts)
        )
        parts.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.8" '
            f'stroke-linejoin="round" class="mark"/>'
        )
        i, v = pts[-1]
        parts.append(
            f'<circle cx="{_n(x(i))}" cy="{_n(y(v))}" r="2.6" fill="{colour}" class="mark"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )


def bullet(
    attainment: float | None,
    colour: str,
    *,
    width: int = 150,
    height: int = 16,
    label: str = "attainment",
    text: str | None = None,
) -> str:
    """Attainment as a bar on 0..150% with a tick at 100% (the target); ``text`` is the
    figure its tooltip shows (default: the percentage)."""
    x = linear((0, 1.5), (1, width - 1))
    parts = [f'<rect x="1" y="4" width="{width - 2}" height="{height - 8}" rx="2" fill="#eef1f4"/>']
    if not fmt.is_missing(attainment):
        a = max(0.0, min(1.5, float(attainment)))
        parts.append(
            f'<rect x="1" y="4" width="{_n(x(a) - 1)}" height="{height - 8}" rx="2" '
            f'fill="{colour}" class="mark"><title>attainment {escape(text or fmt.pct(attainment, 0))}</title></rect>'
        )
    parts.append(
        f'<line x1="{_n(x(1))}" y1="1" x2="{_n(x(1))}" y2="{height - 1}" stroke="{INK}" '
        'stroke-width="1.5" class="ref"/>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )
