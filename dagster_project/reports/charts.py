"""Charts of the KPI report as Vega-Lite specifications, built with Altair.

Each chart is drawn twice in the report's one HTML file, both offline:

* a static SVG, rendered here by ``vl-convert`` (no browser, no network): what a mail
  client, Dagster's markdown metadata, a printout or a page without scripts shows;
* the same specification, embedded as JSON, which the page's script hands to vega-embed
  (bundled inline, :func:`javascript_bundle`): tooltips, and the page's filters and date
  range (``report_page``) where a browser runs scripts.

A builder takes plain values (the marts' numbers, unrounded), returns a :class:`Figure`,
and never formats a number for an axis by hand: Vega-Lite lays out ticks, labels and
legends. Tooltips show each value as the rest of the report writes it (``fmt``), in a
``text`` field next to the unrounded ``value``. Every data row carries the numbers the
marts hold, so tests compare a spec's data with the marts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from dagster_project.reports import fmt, svg_worker

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
# (key of the movement in the marts, label), gains first.
MOVEMENTS = [
    ("new", "New"),
    ("expansion", "Expansion"),
    ("reactivation", "Reactivation"),
    ("contraction", "Contraction"),
    ("churned", "Churned"),
]
STATUS_COLOURS = {"on_track": GOOD, "at_risk": WARN, "off_track": BAD, "no_data": NEUTRAL}
CATEGORICAL = ["#1f5fa8", "#e08a1e", "#7b61a8", "#2a9d8f", "#c2185b", "#8d6e63", "#607d8b"]
# Sequential blues for heatmaps.
HEAT_RANGE = ["#f4f8fc", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]

# Opacity of a month that is not complete yet (the month to date).
FADED_OPACITY = 0.45
# The Vega-Lite version of the specs (Altair's) and the one vl-convert renders them with.
VL_VERSION = "6.4"

# The page filters a chart can answer to: each is a Vega signal of that name holding the
# chosen value or "All" (report_page's script sets them; see :func:`sliced_chart`).
FILTERS = ("segment", "region", "channel")
ALL = "All"
# The page's month range: two Vega signals holding the first and last month shown
# ("YYYY-MM"; "" for no bound), which the page's range control sets in every monthly chart.
# Rows of those charts carry their month as ``m``.
RANGE = ("range_from", "range_to")
RANGE_KEEP = ("(range_from == '' || datum.m >= range_from) && "
              "(range_to == '' || datum.m <= range_to)")


def month_of(c: dt.date | str) -> str | None:
    """The "YYYY-MM" of a month (or day) category, None for other categories."""
    return c.isoformat()[:7] if isinstance(c, dt.date) else None


def range_params() -> list[Any]:
    """The month range's two signals, unbounded (what the static SVG shows)."""
    import altair as alt

    return [alt.param(name=name, value="") for name in RANGE]


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


def axis_label_expr(kind: str, currency: str = "USD") -> str:
    """Vega expression of a value axis' tick labels by kind (money with its symbol and
    k/M/B, fractions as %, ratios with x, months with 'mo')."""
    if kind == "money":
        prefix = json.dumps(fmt.currency_prefix(currency))
        return (f"(datum.value < 0 ? '\u2212' : '') + {prefix} + "
                "replace(format(abs(datum.value), '~s'), 'G', 'B')")
    if kind == "count":
        return ("(datum.value < 0 ? '\u2212' : '') + (abs(datum.value) >= 10000 ? "
                "format(abs(datum.value), '~s') : format(abs(datum.value), ',~d'))")
    if kind == "fraction":
        return "replace(format(datum.value, '~%'), '-', '\u2212')"
    if kind == "ratio":
        return "replace(format(datum.value, '~g'), '-', '\u2212') + '\u00d7'"
    if kind == "months":
        return "replace(format(datum.value, '~g'), '-', '\u2212') + ' mo'"
    return "replace(format(datum.value, '~g'), '-', '\u2212')"


def config() -> dict[str, Any]:
    """The report's look, shared by every chart."""
    return {
        "font": FONT,
        "background": "#ffffff",
        "view": {"stroke": None},
        "axis": {
            "labelColor": MUTED,
            "titleColor": MUTED,
            "labelFontSize": 11,
            "titleFontSize": 11,
            "titleFontWeight": "normal",
            "gridColor": GRID,
            "domainColor": AXIS,
            "tickColor": AXIS,
            "labelOverlap": True,
        },
        "axisX": {"grid": False, "labelAngle": 0},
        "legend": {
            "orient": "top",
            "labelColor": INK,
            "labelFontSize": 11,
            "title": None,
            "symbolStrokeWidth": 2,
        },
        "title": {"color": INK, "fontSize": 14, "fontWeight": 600, "anchor": "start"},
        "bar": {"color": PRIMARY},
        "line": {"strokeWidth": 2.2},
    }


@dataclass
class Figure:
    """One chart: its Vega-Lite spec (data inline) and the label screen readers get.
    ``filters`` are the page filters its data answers to (a subset of FILTERS)."""

    spec: dict[str, Any]
    label: str
    filters: tuple[str, ...] = ()
    static: bool = False  # drawn only as SVG (tiny charts inside tiles and tables)
    ranged: bool = False  # answers to the page's month range (RANGE)

    _svg: str | None = field(default=None, repr=False, compare=False)
    _json: str = field(default="", repr=False, compare=False)
    _ahead: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._json = json.dumps(self.spec, separators=(",", ":"), default=_json_default)
        if _key(self._json) not in _DRAWN:
            # drawn in the SVG worker, when one runs, while the next charts are built
            self._ahead = svg_worker.ahead(self._json, VL_VERSION)

    def svg(self) -> str:
        """The static SVG (rendered once)."""
        if self._svg is None:
            self._svg = _draw(self._json, self._ahead)
            self._ahead = None
        return self._svg

    def html(self) -> str:
        """The figure for the page: the static SVG, and the spec for the page's script."""
        svg = self.svg()
        attrs = f'class="vl" role="img" aria-label="{escape(self.label)}"'
        if self.filters:
            attrs += f' data-filters="{" ".join(self.filters)}"'
        if self.ranged:
            attrs += ' data-range="months"'
        if self.static:
            return f'<figure {attrs} data-static="1"><div class="vl-static">{svg}</div></figure>'
        # JSON inside a script element: "</" would end the element early.
        spec = self._json.replace("</", "<\\/")
        return (f'<figure {attrs}><div class="vl-static">{svg}</div>'
                f'<script type="application/json" class="vl-spec">{spec}</script></figure>')


def static_svg(chart: Figure | str) -> str:
    """The SVG of a figure (or markup that already is one)."""
    return chart.svg() if isinstance(chart, Figure) else chart


def _json_default(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


_INLINE: dict[str, list[dict[str, Any]]] = {}  # rows of inline() datasets until finish()
_INLINE_IDS = itertools.count()


def faded_opacity() -> Any:
    """The opacity of a mark whose row says ``faded`` (the month to date, drawn lighter). An
    encoding object, not the dict ``alt.condition`` returns: Altair turns a dict into one
    through ``from_dict``, which hashes every schema class's schema on each call."""
    import altair as alt

    return alt.OpacityValue(**alt.condition("datum.faded == true", alt.value(FADED_OPACITY),
                                            alt.value(1.0)))


def inline(values: list[dict[str, Any]]) -> Any:
    """A chart's data rows. Altair deep-copies inline values on every ``to_dict``, which
    cost more than drawing the charts; the rows are put into the spec by :func:`finish`."""
    import altair as alt

    name = f"_inline_{next(_INLINE_IDS)}"
    _INLINE[name] = values
    return alt.Data(name=name)


def _put_rows(node: Any) -> Any:
    if isinstance(node, dict):
        name = node.get("name")
        if len(node) == 1 and isinstance(name, str) and name in _INLINE:
            return {"values": _INLINE[name]}
        return {k: _put_rows(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_put_rows(v) for v in node]
    return node


def finish(chart: Any, label: str, *, width: int, height: int,
           filters: Sequence[str] = (), static: bool = False,
           background: str | None = None, ranged: bool = False) -> Figure:
    """The Altair chart as a Vega-Lite spec with the report's config. Not validated here
    (Altair's JSON-schema validation cost more than drawing the charts: ~0.3 s a chart);
    the tests validate every spec of a report against the schema (:func:`schema_errors`)."""
    spec = _put_rows(chart.properties(width=width, height=height).to_dict(validate=False))
    _INLINE.clear()  # one chart at a time: its rows are in its spec now
    spec["config"] = config()
    if background is not None:
        spec["config"]["background"] = background
    spec.pop("$schema", None)
    spec["$schema"] = f"https://vega.github.io/schema/vega-lite/v{VL_VERSION}.json"
    return Figure(spec, label, tuple(filters), static, ranged)


def schema_errors(spec: Mapping[str, Any]) -> list[str]:
    """Where ``spec`` breaks the Vega-Lite schema (Altair's copy of it): empty when valid."""
    import jsonschema
    from altair.vegalite.v6.schema import core

    validator = jsonschema.Draft7Validator(core.load_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(dict(spec))]


# ---------------------------------------------------------------------------- rendering

_LOCK = threading.Lock()
# SVGs already drawn in this process, by spec: the same chart drawn again (the report of
# one serving database rendered twice: the CLI and the Dagster asset, or tests) is free.
_DRAWN: dict[str, str] = {}
_DRAWN_MAX = 256


def _key(spec_json: str) -> str:
    return hashlib.sha256(spec_json.encode()).hexdigest()


def render_svg(spec: Mapping[str, Any]) -> str:
    """The spec drawn as SVG by vl-convert (offline)."""
    return _draw(json.dumps(spec, separators=(",", ":"), default=_json_default))


def _draw(spec_json: str, ahead: Callable[[], str | None] | None = None) -> str:
    """The SVG of a spec: drawn before in this process, by the SVG worker (``ahead``, the
    answer to the spec sent to it) or here."""
    key = _key(spec_json)
    if key in _DRAWN:
        return _DRAWN[key]
    svg = ahead() if ahead is not None else None
    if svg is None:
        import vl_convert

        with _LOCK:
            svg = vl_convert.vegalite_to_svg(spec_json, vl_version=VL_VERSION)
    # vl-convert writes a fixed-size SVG; scaled by CSS it must keep its aspect ratio.
    svg = svg.replace("<svg ", '<svg preserveAspectRatio="xMinYMin meet" ', 1)
    if len(_DRAWN) >= _DRAWN_MAX:
        _DRAWN.pop(next(iter(_DRAWN)))
    _DRAWN[key] = svg
    return svg


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "product-metrics"


def javascript_bundle() -> str:
    """vega, vega-lite and vega-embed as one script (sets window.vegaEmbed): ~0.9 MB,
    inlined in the page so it opens with no network. Built by vl-convert once per version
    and cached under ``$XDG_CACHE_HOME/product-metrics`` (building takes ~2 s)."""
    import vl_convert

    version = f"{vl_convert.__version__}-{VL_VERSION}"
    path = _cache_dir() / f"vega-bundle-{hashlib.sha256(version.encode()).hexdigest()[:12]}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    with _LOCK:
        js = vl_convert.javascript_bundle(vl_version=VL_VERSION)
    if "</script" in js.lower():  # pragma: no cover - would break the inline script
        raise RuntimeError("the vega bundle contains '</script'")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(js, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: build it again next time
    return js


# ---------------------------------------------------------------------------- helpers


def month_key(d: dt.date | str) -> str:
    return d.isoformat() if isinstance(d, dt.date) else str(d)


def category_text(c: str | dt.date) -> str:
    return fmt.month_tick(c) if isinstance(c, dt.date) else str(c)


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    colour: str
    dash: str | None = None  # a dash pattern ("6 3"): dashed line
    width: float = 2.2
    dots: bool = False  # a dot on every value (sparse series)
    label_last: bool = False  # a dot at the last value


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
    extra: Sequence[tuple[str, str]] = field(default_factory=list)  # (legend label, colour)


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if not fmt.is_missing(v)]


def _y_domain(spec: XYSpec) -> tuple[float, float]:
    """The value axis' range: stacked sums (or bars), lines, bands and references, cut at
    ``y_cap``/``y_floor``, with zero unless ``include_zero`` is off."""
    n = len(spec.categories)
    values: list[float] = []
    if spec.stacked and spec.bars:
        for i in range(n):
            values.append(sum(max(float(s.values[i] or 0), 0) for s in spec.bars))
            values.append(sum(min(float(s.values[i] or 0), 0) for s in spec.bars))
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
    if spec.include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if spec.y_cap is not None:
        hi = min(hi, spec.y_cap)
    if spec.y_floor is not None:
        lo = max(lo, spec.y_floor)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def xy_chart(spec: XYSpec) -> Figure:
    """Bars (stacked or grouped, positive up and negative down), lines and bands on one
    value axis over categories (months, quarters, names) or days."""
    import altair as alt

    n = len(spec.categories)
    lo, hi = _y_domain(spec)
    keys = [month_key(c) if spec.continuous else category_text(c) for c in spec.categories]
    when = [category_text(c) if not spec.continuous or not isinstance(c, dt.date)
            else c.isoformat() for c in spec.categories]
    # months (or days): each row carries its month, and the page's month range filters them
    months = [month_of(c) for c in spec.categories]
    ranged = n > 0 and None not in months

    def row(i: int, name: str, value: float | None, **more: Any) -> dict[str, Any]:
        out = {"x": keys[i], "value": value,
               "tip": f"{when[i]} · {name or spec.unit}: "
                      f"{value_text(value, spec.kind, spec.currency)}", **more}
        if ranged:
            out["m"] = months[i]
        if i in spec.faded:
            out["faded"] = True
        return out

    # bars: each a [base, top] span, stacked positive up and negative down
    bar_rows: list[dict[str, Any]] = []
    for i in range(n):
        pos = neg = 0.0
        for g, s in enumerate(spec.bars):
            v = s.values[i]
            if fmt.is_missing(v):
                continue
            v = float(v)
            if spec.stacked:
                base = pos if v >= 0 else neg
                top = base + v
                pos, neg = (top, neg) if v >= 0 else (pos, top)
            else:
                base, top = 0.0, v
            cut = "\u2191" if top > hi else ("\u2193" if top < lo else "")
            more: dict[str, Any] = {"base": min(max(base, lo), hi), "top": min(max(top, lo), hi)}
            if len(spec.bars) > 1:
                more["series"], more["group"] = s.name, g
            if spec.bar_colours or len(spec.bars) > 1:
                more["colour"] = spec.bar_colours[i] if spec.bar_colours else s.colour
            if cut:
                more["cut"] = cut + " " + value_text(v, spec.kind, spec.currency)
            bar_rows.append(row(i, s.name, v, **more))
    line_rows = {
        k: [row(i, s.name, float(s.values[i])) for i in range(n) if not fmt.is_missing(s.values[i])]
        for k, s in enumerate(spec.lines)
    }
    band_rows = {
        k: [
            {"x": keys[i], "low": min(max(float(b.low[i]), lo), hi),  # type: ignore[arg-type]
             "high": min(max(float(b.high[i]), lo), hi),  # type: ignore[arg-type]
             "tip": f"{when[i]} · {b.name}: {value_text(b.low[i], spec.kind, spec.currency)}"
                    f" to {value_text(b.high[i], spec.kind, spec.currency)}",
             **({"m": months[i]} if ranged else {})}
            for i in range(n) if not fmt.is_missing(b.low[i]) and not fmt.is_missing(b.high[i])
        ]
        for k, b in enumerate(spec.bands)
    }
    def data(values: list[dict[str, Any]]) -> Any:
        chart = alt.Chart(inline(values))
        return chart.transform_filter(RANGE_KEEP) if ranged else chart

    if spec.continuous:
        x = alt.X("x:T", title=spec.x_title or None, scale=alt.Scale(type="utc"),
                  axis=alt.Axis(format="%b %y", tickCount="month", labelOverlap=True))
    else:
        x = alt.X("x:N", title=spec.x_title or None, sort=keys,
                  axis=alt.Axis(labelOverlap=True, labelAngle=0))
    y_scale = alt.Scale(domain=[lo, hi], nice=spec.y_cap is None and spec.y_floor is None,
                        zero=spec.include_zero, clamp=True)
    y_axis = alt.Axis(labelExpr=axis_label_expr(spec.kind, spec.currency), tickCount=5)
    named = ([(s.name, s.colour) for s in spec.bars if s.name and not spec.bar_colours]
             + [(b.name, b.colour) for b in spec.bands if b.name]
             + [(s.name, s.colour) for s in spec.lines if s.name] + list(spec.extra))
    legend_scale = alt.Scale(domain=[nm for nm, _ in named], range=[c for _, c in named])
    opacity = faded_opacity()
    tooltip = alt.Tooltip("tip:N", title=None)
    layers = []
    for k, b in enumerate(spec.bands):
        layers.append(data(band_rows[k]).mark_area(opacity=0.22, color=b.colour).encode(
            x=x, y=alt.Y("low:Q", scale=y_scale, axis=y_axis, title=spec.unit), y2=alt.Y2("high:Q"),
            tooltip=tooltip))
    if spec.bars:
        enc: dict[str, Any] = {
            "x": x, "y": alt.Y("top:Q", scale=y_scale, axis=y_axis, title=spec.unit),
            "y2": alt.Y2("base:Q"), "opacity": opacity, "tooltip": tooltip,
        }
        if bar_rows and "colour" in bar_rows[0]:
            enc["color"] = alt.Color("colour:N", scale=None)
        if not spec.stacked and len(spec.bars) > 1:
            enc["xOffset"] = alt.XOffset("group:O", scale=alt.Scale(paddingInner=0.08))
        colour = spec.bars[0].colour
        bars = data(bar_rows).mark_bar(color=colour).encode(**enc)
        layers.append(bars)
        if any(r.get("cut") for r in bar_rows):
            layers.append(data([r for r in bar_rows if r.get("cut")]).mark_text(
                angle=270, align="right", baseline="middle", dx=-6, fontSize=9.5,
                fontWeight=600, color="#ffffff").encode(x=x, y=alt.Y("top:Q", scale=y_scale),
                                                       text=alt.Text("cut:N")))
    for k, s in enumerate(spec.lines):
        line: dict[str, Any] = {"color": s.colour, "strokeWidth": s.width}
        if s.dash:
            line["strokeDash"] = [float(d) for d in s.dash.split()]
        if s.dots:
            line["point"] = alt.OverlayMarkDef(color=s.colour, size=30)
        points = len(line_rows[k])
        layers.append(data(line_rows[k]).mark_line(**line).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, axis=y_axis, title=spec.unit),
            tooltip=tooltip))
        if s.label_last or points == 1:
            layers.append(data(line_rows[k][-1:]).mark_point(
                filled=True, size=45, color=s.colour, opacity=1).encode(
                x=x, y=alt.Y("value:Q", scale=y_scale), tooltip=tooltip))
    if named:
        # an invisible layer that carries the legend of every named series
        layers.append(alt.Chart(inline([{"series": nm} for nm, _ in named])).mark_point(
            opacity=0).encode(color=alt.Color("series:N", scale=legend_scale,
                                              legend=alt.Legend(orient="top", title=None))))
    for r in spec.refs:
        ref = alt.Chart(inline([{"y": r.value, "label": r.label}]))
        layers.append(ref.mark_rule(color=r.colour, strokeDash=[4, 3], strokeWidth=1.2).encode(
            y=alt.Y("y:Q", scale=y_scale), tooltip=alt.Tooltip("label:N", title=None)))
        layers.append(ref.mark_text(align="right", baseline="bottom", dy=-3, fontSize=10.5,
                                    color=r.colour).encode(
            y=alt.Y("y:Q", scale=y_scale), x=alt.XValue(spec.width), text=alt.Text("label:N")))
    chart = alt.layer(*layers)
    if ranged:
        chart = chart.add_params(*range_params())
    if spec.heading:
        chart = chart.properties(title=spec.heading)
    return finish(chart, spec.label, width=spec.width, height=spec.height, ranged=ranged)


def sparkline(values: Sequence[float | None], *, colour: str = PRIMARY, width: int = 120,
              height: int = 34, label: str = "trend") -> Figure:
    """A tiny line of the recent trend, the last value dotted; no axes (a static figure:
    it sits inside a headline tile)."""
    import altair as alt

    rows = [{"i": i, "value": float(v)} for i, v in enumerate(values) if not fmt.is_missing(v)]
    lo = min((r["value"] for r in rows), default=0.0)
    hi = max((r["value"] for r in rows), default=1.0)
    y = alt.Y("value:Q", axis=None, scale=alt.Scale(domain=[lo, hi] if hi > lo else [lo - 1, hi + 1],
                                                     zero=False, nice=False))
    x = alt.X("i:Q", axis=None, scale=alt.Scale(domain=[0, max(len(values) - 1, 1)], nice=False))
    base = alt.Chart(inline(rows))
    chart = alt.layer(
        base.mark_line(color=colour, strokeWidth=1.8, strokeJoin="round").encode(x=x, y=y),
        base.transform_window(rank="rank()", sort=[alt.SortField("i", order="descending")])
        .transform_filter("datum.rank == 1")
        .mark_point(filled=True, size=22, color=colour, opacity=1).encode(x=x, y=y),
    ).properties(padding=3)
    return finish(chart, label, width=width - 6, height=height - 6, static=True,
                  background="transparent")


# ------------------------------------------------------------------ charts the page filters


def value_expr(kind: str, currency: str = "USD", field_: str = "datum.value") -> str:
    """Vega expression writing a value as the report does (money with its symbol and k/M/B,
    % for fractions, thousands separators for counts): for tooltips of values the browser
    aggregates itself (a filtered chart)."""
    v = field_
    sign = f"({v} < 0 ? '\\u2212' : '')"
    if kind == "money":
        return (f"{sign} + {json.dumps(fmt.currency_prefix(currency))} + "
                f"replace(format(abs({v}), '.3~s'), 'G', 'B')")
    if kind == "count":
        return f"{sign} + format(abs({v}), ',.0f')"
    if kind == "fraction":
        return f"{sign} + format(abs({v}), '.1%')"
    return f"{sign} + format(abs({v}), '.3~g')"


@dataclass
class SlicedSeries:
    """One series of a chart the page's filters slice: its values per category (index)
    and per combination of the dimensions' values, e.g. MRR by month, segment, region and
    channel; the chart shows the sum over the combinations the filters keep."""

    name: str
    colour: str
    values: Sequence[tuple[int, Mapping[str, str], float]]  # (category, dimension values, value)


def sliced_chart(categories: Sequence[dt.date | str], series: Sequence[SlicedSeries], *,
                 dims: Sequence[str], kind: str, unit: str, x_title: str = "",
                 mode: str = "stack", net: str | None = None, currency: str = "USD",
                 faded: frozenset[int] = frozenset(), width: int = 640, height: int = 280,
                 label: str = "chart") -> Figure:
    """Bars (``mode`` 'stack': gains up and losses down from zero; 'waterfall': each bar
    starting where the one before it ended, within a category) or lines (``mode`` 'line')
    of the sums of ``series`` over the rows the page's filters keep (``dims``, of FILTERS;
    all rows when a filter is "All", which is what the static SVG shows). ``net``: a tick
    at each category's sum of the series, so named in the legend.

    The browser sums the rows, so every row is in the spec with its dimension values and its
    unrounded value (the mart's), and tooltips are written by a Vega expression."""
    import altair as alt

    keys = [category_text(c) for c in categories]
    months = [month_of(c) for c in categories]
    ranged = bool(categories) and None not in months  # the page's month range applies
    rows: list[dict[str, Any]] = []
    for order, s in enumerate(series):
        for i, dimension_values, value in s.values:
            if fmt.is_missing(value) or (value == 0 and mode != "line"):
                continue  # (a zero adds nothing to a bar; a line needs its zeros)
            row = {"x": keys[i], "series": s.name, "o": order, "value": float(value),
                   **{d: dimension_values.get(d) for d in dims}}
            if ranged:
                row["m"] = months[i]
            if i in faded:
                row["faded"] = True
            rows.append(row)
    params = [alt.param(name=d, value=ALL) for d in dims] + (range_params() if ranged else [])
    keep = " && ".join([f"({d} == '{ALL}' || datum.{d} == {d})" for d in dims]
                       + ([RANGE_KEEP] if ranged else [])) or "true"
    x = alt.X("x:N", title=x_title or None, sort=keys, axis=alt.Axis(labelAngle=0))
    y_axis = alt.Axis(labelExpr=axis_label_expr(kind, currency), tickCount=5)
    names = [s.name for s in series] + ([net] if net else [])
    colours = [s.colour for s in series] + ([INK] if net else [])
    colour = alt.Color("series:N", scale=alt.Scale(domain=names, range=colours),
                       legend=alt.Legend(orient="top", title=None) if len(names) > 1 else None)
    opacity = faded_opacity()
    tip = f"datum.x + ' · ' + datum.series + ': ' + {value_expr(kind, currency)}"
    # each mark's accessible name: its category, series and unrounded value (tests read it)
    desc = "datum.x + ' | ' + datum.series + ' | ' + datum.value"
    base = alt.Chart(inline(rows)).transform_filter(keep).transform_aggregate(
        value="sum(value)", groupby=["x", "series", "o", "faded"])
    layers = []
    if mode == "line":
        for s in series:
            layers.append(base.transform_filter(f"datum.series == {json.dumps(s.name)}")
                          .transform_calculate(tip=tip, desc=desc)
                          .mark_line(color=s.colour, strokeWidth=2.2,
                                     point=alt.OverlayMarkDef(color=s.colour, size=20))
                          .encode(x=x, y=alt.Y("value:Q", title=unit, axis=y_axis),
                                  color=colour, tooltip=alt.Tooltip("tip:N", title=None),
                                  description=alt.Description("desc:N")))
    else:
        groups = ["x", "sign"] if mode == "stack" else ["x"]
        bars = (base.transform_calculate(sign="datum.value < 0 ? -1 : 1")
                .transform_window(top="sum(value)", groupby=groups, sort=[alt.SortField("o")],
                                  frame=[None, 0])
                .transform_calculate(bottom="datum.top - datum.value", tip=tip, desc=desc))
        encoding: dict[str, Any] = {
            "x": x, "y": alt.Y("top:Q", title=unit, axis=y_axis, stack=None), "y2": alt.Y2("bottom:Q"),
            "color": colour, "opacity": opacity, "tooltip": alt.Tooltip("tip:N", title=None),
            "description": alt.Description("desc:N")}
        if mode == "waterfall":  # side by side within the month: each step visible
            encoding["xOffset"] = alt.XOffset("o:O", scale=alt.Scale(
                domain=list(range(len(series))), paddingInner=0.05))
        layers.append(bars.mark_bar().encode(**encoding))
        if net:
            ticks = (alt.Chart(inline(rows)).transform_filter(keep)
                     .transform_aggregate(value="sum(value)", groupby=["x"])
                     .transform_calculate(series=json.dumps(net), tip=tip, desc=desc))
            size = max(4.0, width / max(len(keys), 1) * 0.8)
            layers.append(ticks.mark_tick(thickness=2.5, size=size, orient="horizontal").encode(
                x=x, y=alt.Y("value:Q"), color=colour, tooltip=alt.Tooltip("tip:N", title=None),
                description=alt.Description("desc:N")))
    chart = alt.layer(*layers).add_params(*params) if params else alt.layer(*layers)
    return finish(chart, label, width=width, height=height, filters=tuple(dims), ranged=ranged)


@dataclass
class SlicedRate:
    """A rate drawn as a line over the rows the page's filters keep: ``expr`` (a Vega
    expression over ``datum.<column>``, NaN for no value) applied to the sums of its
    ``columns`` (``report_data.RateFormula``)."""

    name: str
    colour: str
    columns: Sequence[str]
    expr: str


def sliced_rate_chart(categories: Sequence[dt.date | str], rates: Sequence[SlicedRate],
                      rows: Sequence[tuple[int, Mapping[str, str], Mapping[str, float]]], *,
                      dims: Sequence[str], kind: str, unit: str, x_title: str = "",
                      refs: Sequence[Ref] = (), include_zero: bool = True,
                      bands: Sequence[tuple[float | None, str, str]] = (),
                      cap: float | None = None, currency: str = "USD", width: int = 640,
                      height: int = 280, label: str = "chart") -> Figure:
    """Lines of ``rates``, each computed by the browser from the sums of its columns over the
    ``rows`` (category index, dimension values, column values) that the page's filters keep
    (all of them in the static SVG), so a rate by segment is the segment's own rate, by the
    same definition. A category whose rate has no value (a zero denominator) has no point.

    With ``bands`` (at least, colour, legend label; highest first, the last at None) the
    one rate is drawn as bars in the colour of the band its value falls in; bars above
    ``cap`` are cut there with their value written inside."""
    import altair as alt

    keys = [category_text(c) for c in categories]
    months = [month_of(c) for c in categories]
    ranged = bool(categories) and None not in months
    columns = sorted({c for r in rates for c in r.columns})
    data = []
    for i, dimension_values, values in rows:
        row: dict[str, Any] = {"x": keys[i], **{d: dimension_values.get(d) for d in dims},
                               **{c: float(values.get(c) or 0.0) for c in columns}}
        if ranged:
            row["m"] = months[i]
        data.append(row)
    params = [alt.param(name=d, value=ALL) for d in dims] + (range_params() if ranged else [])
    keep = " && ".join([f"({d} == '{ALL}' || datum.{d} == {d})" for d in dims]
                       + ([RANGE_KEEP] if ranged else [])) or "true"
    x = alt.X("x:N", title=x_title or None, sort=keys, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(zero=include_zero)
    y_axis = alt.Axis(labelExpr=axis_label_expr(kind, currency), tickCount=5)
    y = alt.Y("value:Q", title=unit, scale=y_scale, axis=y_axis)
    colour = alt.Color("series:N", scale=alt.Scale(domain=[r.name for r in rates],
                                                   range=[r.colour for r in rates]),
                       legend=alt.Legend(orient="top", title=None) if len(rates) > 1 else None)
    tip = f"datum.x + ' · ' + datum.series + ': ' + {value_expr(kind, currency)}"
    desc = "datum.x + ' | ' + datum.series + ' | ' + datum.value"
    base = alt.Chart(inline(data)).transform_filter(keep).transform_aggregate(
        **{c: f"sum({c})" for c in columns}, groupby=["x"])
    valued = [base.transform_calculate(value=f"isFinite({r.expr}) ? {r.expr} : null",
                                       series=json.dumps(r.name))
              .transform_filter("datum.value != null").transform_calculate(tip=tip, desc=desc)
              for r in rates]
    if bands:
        layers = _banded_bars(valued[0], bands, cap, x, alt.Y(
            "shown:Q", title=unit, scale=y_scale, axis=y_axis), kind, currency)
    else:
        layers = [v.mark_line(color=r.colour, strokeWidth=2.2,
                              point=alt.OverlayMarkDef(color=r.colour, size=30))
                  .encode(x=x, y=y, color=colour, tooltip=alt.Tooltip("tip:N", title=None),
                          description=alt.Description("desc:N"))
                  for v, r in zip(valued, rates, strict=True)]
    for ref in refs:
        rule = alt.Chart(inline([{"y": ref.value, "label": ref.label}]))
        layers.append(rule.mark_rule(color=ref.colour, strokeDash=[4, 3], strokeWidth=1.2).encode(
            y=alt.Y("y:Q"), tooltip=alt.Tooltip("label:N", title=None)))
        layers.append(rule.mark_text(align="right", baseline="bottom", dy=-3, fontSize=10.5,
                                     color=ref.colour).encode(
            y=alt.Y("y:Q"), x=alt.XValue(width), text=alt.Text("label:N")))
    chart = alt.layer(*layers).add_params(*params) if params else alt.layer(*layers)
    return finish(chart, label, width=width, height=height, filters=tuple(dims), ranged=ranged)


def _banded_bars(valued: Any, bands: Sequence[tuple[float | None, str, str]],
                 cap: float | None, x: Any, y: Any, kind: str, currency: str) -> list[Any]:
    """A rate's bars coloured by band, cut at ``cap`` with the value written inside, and a
    legend of the bands (see :func:`sliced_rate_chart`)."""
    import altair as alt

    colour = "".join(f"datum.value >= {at} ? {json.dumps(c)} : " for at, c, _ in bands
                     if at is not None) + json.dumps(bands[-1][1])
    shown = f"min(datum.value, {cap})" if cap is not None else "datum.value"
    bars = valued.transform_calculate(colour=colour, shown=shown)
    layers = [bars.mark_bar().encode(
        x=x, y=y, color=alt.Color("colour:N", scale=None),
        tooltip=alt.Tooltip("tip:N", title=None), description=alt.Description("desc:N"))]
    if cap is not None:
        layers.append(bars.transform_filter(f"datum.value > {cap}")
                      .transform_calculate(cut=f"'\u2191 ' + {value_expr(kind, currency)}")
                      .mark_text(angle=270, align="right", baseline="middle", dx=-6,
                                 fontSize=9.5, fontWeight=600, color="#ffffff")
                      .encode(x=x, y=alt.Y("shown:Q"), text=alt.Text("cut:N")))
    legend = alt.Scale(domain=[name for _, _, name in bands], range=[c for _, c, _ in bands])
    layers.append(alt.Chart(inline([{"series": name} for _, _, name in bands])).mark_point(
        opacity=0).encode(color=alt.Color("series:N", scale=legend,
                                          legend=alt.Legend(orient="top", title=None))))
    return layers


def range_overview(months: Sequence[dt.date], values: Sequence[float | None], *,
                   label: str = "month range") -> Figure:
    """The page's month range control: a strip of ``values`` by month (MRR) on a time axis
    with a brush. Dragging across it selects the months the monthly charts show (the
    page's script reads the brush, signal ``brush``, field ``t``); it is drawn only where
    scripts run."""
    import altair as alt

    rows = [{"t": m.isoformat(), "m": m.isoformat()[:7], "value": float(v)}
            for m, v in zip(months, values, strict=True) if not fmt.is_missing(v)]
    x = alt.X("t:T", title=None, scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%b %y", labelOverlap=True, tickCount=4, grid=False,
                            labelFontSize=10, domain=False, ticks=False))
    y = alt.Y("value:Q", axis=None, scale=alt.Scale(zero=True))
    brush = alt.selection_interval(name="brush", encodings=["x"])
    base = alt.Chart(inline(rows))
    chart = alt.layer(
        base.mark_area(color=PRIMARY_LIGHT, opacity=0.7).encode(x=x, y=y).add_params(brush),
        base.mark_line(color=PRIMARY, strokeWidth=1.2).encode(x=x, y=y),
    ).properties(padding=2)
    return finish(chart, label, width=300, height=34)
