"""Grid and bar charts of the KPI report as Vega-Lite specs: cohort heatmaps, the funnel,
horizontal bars and 100% share bars.

As in :mod:`charts`, each builder takes plain values and returns a :class:`charts.Figure`
whose data rows are inline, each with the unrounded input in ``value`` and the tooltip
text in ``tip``; colours are explicit. Vega-Lite lays out axes, legends and labels.

``width`` is the width of the plot area (as in :func:`charts.xy_chart`): axis labels,
legends and the text beside bars come on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dagster_project.reports import fmt
from dagster_project.reports.charts import (
    AXIS,
    HEAT_RANGE,
    INK,
    MUTED,
    PRIMARY,
    PRIMARY_LIGHT,
    Figure,
    Ref,
    axis_label_expr,
    finish,
    inline,
    value_text,
)

# What heat_colour gives a missing value (a neutral grey); the chart draws no cell.
HEAT_MISSING = "#eceff1"
# A cell's value is written in it when the cell is at least this wide (px).
CELL_TEXT_MIN_WIDTH = 30
# The funnel writes a step's count inside its bar when the bar is at least this wide (px),
# else just beyond its right end. 90 px holds "12,345,678" in 12 px bold.
FUNNEL_INSIDE_MIN_WIDTH = 90
# A share bar's segment gets its percentage written inside when at least this wide (px):
# "100%" in 11.5 px bold is about 30 px.
SHARE_TEXT_MIN_WIDTH = 34


# ---------------------------------------------------------------------------- colours


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b`` (each channel linear in sRGB)."""
    rgb = [x + (y - x) * t for x, y in zip(_hex_to_rgb(a), _hex_to_rgb(b), strict=True)]
    return "#" + "".join(f"{max(0, min(255, round(v))):02x}" for v in rgb)


def heat_stops(lo: float, hi: float) -> list[float]:
    """The values at which the heatmap's scale takes each colour of HEAT_RANGE: evenly
    spaced from ``lo`` to ``hi`` (a flat range is widened by 1)."""
    if hi <= lo:
        hi = lo + 1.0
    n = len(HEAT_RANGE) - 1
    return [lo + (hi - lo) * k / n for k in range(n + 1)]


def heat_colour(value: float | None, lo: float = 0.0, hi: float = 1.0) -> str:
    """The fill the heatmap's colour scale gives ``value`` (clamped to [lo, hi], linear in
    sRGB between the stops of HEAT_RANGE): what Vega draws, computed here to pick the
    cell's text colour. A missing value is a neutral grey."""
    if fmt.is_missing(value):
        return HEAT_MISSING
    stops = heat_stops(lo, hi)
    v = min(max(float(value), stops[0]), stops[-1])
    for k in range(len(stops) - 1):
        if v <= stops[k + 1]:
            return mix(HEAT_RANGE[k], HEAT_RANGE[k + 1], (v - stops[k]) / (stops[k + 1] - stops[k]))
    return HEAT_RANGE[-1]


def text_on(background: str) -> str:
    """Dark or white text, whichever reads better on ``background`` (WCAG relative luminance)."""

    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _hex_to_rgb(background))
    return INK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.36 else "#ffffff"


def _labels(names: Sequence[str]) -> str:
    """A Vega expression for axis labels of an index axis: the name at ``datum.value``
    (charts encode rows by index so that two rows with the same name stay apart)."""
    return f"{json.dumps(list(names))}[datum.value]"


# ---------------------------------------------------------------------------- heatmap


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
) -> Figure:
    """A cohort triangle: one row per cohort, one column per period since its start, each
    cell coloured on a sequential scale from ``lo`` (the lightest colour, and below) to
    ``hi`` (the darkest, and above) with its value written in it (fractions as whole
    percentages without the sign); a missing cell (not yet reached, None or NaN) has no
    data row and is left blank. ``sizes`` are written on a second axis, right of the
    rows."""
    import altair as alt

    ncols = max(len(cols), 1)
    cell_w = width / ncols
    cell_h = 20 if len(rows) <= 30 else 14
    show_values = cell_w >= CELL_TEXT_MIN_WIDTH
    data: list[dict[str, Any]] = []
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            if fmt.is_missing(v):
                continue
            v = float(v)
            data.append({
                "r": r, "row": rows[r], "c": c, "col": cols[c], "value": v,
                "size": sizes[r] if sizes else None,
                "text": f"{v * 100:.0f}" if kind == "fraction" else value_text(v, kind),
                "ink": text_on(heat_colour(v, lo, hi)),
                "tip": f"{y_title} {rows[r]}, {x_title.lower()} {cols[c]}: {value_text(v, kind)}",
            })
    stops = heat_stops(lo, hi)
    x = alt.X("c:O", title=x_title, scale=alt.Scale(domain=list(range(len(cols)))),
              axis=alt.Axis(labelExpr=_labels(cols), labelAngle=0, orient="bottom",
                            ticks=False, domain=False))
    y_scale = alt.Scale(domain=list(range(len(rows))))
    y = alt.Y("r:O", title=y_title, scale=y_scale,
              axis=alt.Axis(labelExpr=_labels(rows), ticks=False, domain=False,
                            labelFontSize=10.5, orient="left"))
    fill = alt.Color(
        "value:Q",
        scale=alt.Scale(domain=stops, range=list(HEAT_RANGE), interpolate="rgb", clamp=True),
        legend=alt.Legend(
            orient="top", direction="horizontal", title=None, gradientLength=220,
            gradientThickness=10, values=[stops[0], stops[2], stops[-1]],
            labelExpr=("format(datum.value, '.0%')" if kind == "fraction"
                       else axis_label_expr(kind)),
            labelColor=MUTED, labelFontSize=10,
        ),
    )
    base = alt.Chart(inline(data))
    tooltip = alt.Tooltip("tip:N", title=None)
    layers = [base.mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        x=x, y=y, color=fill, tooltip=tooltip)]
    if show_values:
        # (no axis of its own: with the sizes' axis resolved independently, a second
        # left axis would write every cohort twice)
        layers.append(base.mark_text(fontSize=9.5, baseline="middle").encode(
            x=x, y=alt.Y("r:O", scale=y_scale, axis=None), text=alt.Text("text:N"), fill=alt.Fill("ink:N", scale=None), tooltip=tooltip))
    chart = alt.layer(*layers)
    if sizes:
        # A second axis, on the right (Vega does not stack two axes on one side): each
        # cohort's size.
        size_axis = alt.Chart(inline([{"r": r} for r in range(len(rows))])).mark_point(
            opacity=0).encode(y=alt.Y("r:O", scale=y_scale, title="size", axis=alt.Axis(
                orient="right", labelExpr=_labels(sizes), ticks=False, domain=False,
                labelFontSize=10, titleAngle=0, titleAnchor="start", titleAlign="left",
                titleBaseline="bottom", titleX=2, titleY=-4)))
        chart = alt.layer(*layers, size_axis).resolve_axis(y="independent")
    if heading:
        chart = chart.properties(title=heading)
    return finish(chart, label, width=width, height=cell_h * max(len(rows), 1))


# ---------------------------------------------------------------------------- funnel


def funnel_chart(
    steps: Sequence[tuple[str, float]],
    *,
    heading: str | None = None,
    width: int = 640,
    label: str = "funnel",
) -> Figure:
    """Centred bars, one per step, as wide as its users, with the count written in the
    bar (or beyond its end when the bar is narrow); beside each, the conversion from the
    step before and from the first step. Each row: ``value`` (users), ``previous`` (users
    / the step before's, None for the first) and ``overall`` (users / the first step's)."""
    import altair as alt

    names = [name for name, _ in steps]
    first = steps[0][1] if steps else 0
    widest = max((float(v) for _, v in steps), default=0.0) or 1.0
    data: list[dict[str, Any]] = []
    prev: float | None = None
    for i, (name, users) in enumerate(steps):
        users = float(users)
        colour = mix(PRIMARY, PRIMARY_LIGHT, i / max(len(steps) - 1, 1) * 0.7)
        step_rate = (users / prev) if prev else None
        overall = (users / first) if first else None
        inside = width * users / widest >= FUNNEL_INSIDE_MIN_WIDTH
        data.append({
            "i": i, "step": name, "value": users, "previous": step_rate, "overall": overall,
            "left": -users / 2, "right": users / 2, "colour": colour,
            "count": fmt.count(users), "inside": inside, "ink": text_on(colour) if inside else INK,
            "from_previous": None if step_rate is None else f"{fmt.pct(step_rate)} of previous",
            "from_first": None if step_rate is None else f"{fmt.pct(overall)} of first step",
            "tip": f"{name}: {fmt.count(users)} (from previous step {fmt.pct(step_rate)}, "
                   f"overall {fmt.pct(overall)})",
        })
        prev = users
    base = alt.Chart(inline(data))
    x_scale = alt.Scale(domain=[-widest / 2, widest / 2], nice=False, zero=False)
    y = alt.Y("i:O", title=None, scale=alt.Scale(domain=list(range(len(steps))),
                                                 paddingInner=8 / 42, paddingOuter=0.1),
              axis=alt.Axis(labelExpr=_labels(names), ticks=False, domain=False,
                            labelFontSize=12, labelColor=INK, labelPadding=10))
    tooltip = alt.Tooltip("tip:N", title=None)
    bars = base.mark_bar(cornerRadius=3).encode(
        x=alt.X("left:Q", scale=x_scale, axis=None), x2=alt.X2("right:Q"), y=y,
        color=alt.Color("colour:N", scale=None), tooltip=tooltip)
    inside = base.transform_filter("datum.inside").mark_text(
        fontSize=12, fontWeight=600, baseline="middle").encode(
        x=alt.XValue(width / 2), y=y, text=alt.Text("count:N"),
        color=alt.Color("ink:N", scale=None), tooltip=tooltip)
    beyond = base.transform_filter("!datum.inside").mark_text(
        fontSize=12, fontWeight=600, baseline="middle", align="left", dx=6, color=INK).encode(
        x=alt.X("right:Q", scale=x_scale), y=y, text=alt.Text("count:N"), tooltip=tooltip)
    rates = base.transform_filter("isValid(datum.previous)")
    beside = [
        rates.mark_text(fontSize=11, align="left", baseline="middle", dy=-6, dx=10,
                        color=INK).encode(x=alt.XValue(width), y=y, text=alt.Text("from_previous:N")),
        rates.mark_text(fontSize=10, align="left", baseline="middle", dy=8, dx=10,
                        color=MUTED).encode(x=alt.XValue(width), y=y, text=alt.Text("from_first:N")),
    ]
    chart = alt.layer(bars, inside, beyond, *beside)
    if heading:
        chart = chart.properties(title=heading)
    return finish(chart, label, width=width, height=42 * max(len(steps), 1))


# ---------------------------------------------------------------------------- bars


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
) -> Figure:
    """Horizontal bars from zero with their value written beyond the end of a positive bar
    and right of zero for a negative one (so it never runs into the row
    labels); a missing value is a row with ``value`` None
    and "no data" written at zero. ``refs`` are dashed vertical reference lines, labelled
    above the plot; ``notes`` go into the tooltips."""
    import altair as alt

    data: list[dict[str, Any]] = []
    for i, (name, v) in enumerate(zip(labels, values, strict=True)):
        missing = fmt.is_missing(v)
        note = f" · {notes[i]}" if notes and notes[i] else ""
        data.append({
            "i": i, "label": name, "value": None if missing else float(v), "colour": colours[i],
            "text": "no data" if missing else value_text(v, kind, currency),
            "tip": f"{name}: {value_text(None if missing else v, kind, currency)}{note}",
        })
    finite = [float(v) for v in values if not fmt.is_missing(v)]
    span = finite + [r.value for r in refs] + [0.0]
    lo, hi = min(span), max(span)
    if hi <= lo:
        hi = lo + 1.0
    x_scale = alt.Scale(domain=[lo, hi], nice=True, zero=True)
    x_axis = alt.Axis(labelExpr=axis_label_expr(kind, currency), tickCount=5, grid=True)
    row_h = 24
    y = alt.Y("i:O", title=None, scale=alt.Scale(domain=list(range(len(labels))),
                                                 paddingInner=8 / 24, paddingOuter=4 / 24),
              axis=alt.Axis(labelExpr=_labels(labels), ticks=False, labelFontSize=11.5,
                            labelColor=INK, labelLimit=200))
    base = alt.Chart(inline(data))
    tooltip = alt.Tooltip("tip:N", title=None)
    layers = [
        base.transform_filter("isValid(datum.value)").mark_bar(cornerRadius=2).encode(
            x=alt.X("value:Q", scale=x_scale, axis=x_axis, title=unit), x2=alt.X2Datum(0), y=y,
            color=alt.Color("colour:N", scale=None), tooltip=tooltip),
        base.transform_filter("isValid(datum.value) && datum.value >= 0").mark_text(
            align="left", baseline="middle", dx=5, fontSize=11, fontWeight=600, color=INK
        ).encode(x=alt.X("value:Q", scale=x_scale), y=y, text=alt.Text("text:N"), tooltip=tooltip),
        base.transform_filter("isValid(datum.value) && datum.value < 0").mark_text(
            align="left", baseline="middle", dx=5, fontSize=11, fontWeight=600, color=INK
        ).encode(x=alt.datum(0, scale=x_scale), y=y, text=alt.Text("text:N"), tooltip=tooltip),
        base.transform_filter("!isValid(datum.value)").mark_text(
            align="left", baseline="middle", dx=4, fontSize=10.5, color=MUTED
        ).encode(x=alt.datum(0, scale=x_scale), y=y, text=alt.Text("text:N"), tooltip=tooltip),
    ]
    if lo < 0:
        layers.append(alt.Chart(inline([{"zero": 0}])).mark_rule(color=AXIS).encode(
            x=alt.X("zero:Q", scale=x_scale)))
    for r in refs:
        ref = alt.Chart(inline([{"value": r.value, "label": r.label}]))
        layers.append(ref.mark_rule(color=r.colour, strokeWidth=1.5, strokeDash=[5, 4]).encode(
            x=alt.X("value:Q", scale=x_scale), tooltip=alt.Tooltip("label:N", title=None)))
        layers.append(ref.mark_text(align="left", baseline="bottom", dx=4, dy=-4,
                                    fontSize=10.5, color=r.colour).encode(
            x=alt.X("value:Q", scale=x_scale), y=alt.YValue(0), text=alt.Text("label:N")))
    chart = alt.layer(*layers)
    if heading:
        chart = chart.properties(title=heading)
    return finish(chart, label, width=width, height=row_h * max(len(labels), 1))


def share_bars_chart(
    rows: Sequence[tuple[str, Sequence[tuple[str, float, str]]]],
    *,
    heading: str | None = None,
    width: int = 640,
    label: str = "shares",
) -> Figure:
    """100% horizontal bars: each row is a whole cut into named shares (each share a
    fraction, ``value``), in the given order and colours; each segment has its percentage
    written inside when wide enough, and the legend on top names the parts (first colour
    of each name)."""
    import altair as alt

    data: list[dict[str, Any]] = []
    named: dict[str, str] = {}
    for r, (name, parts) in enumerate(rows):
        acc = 0.0
        for k, (part, share, colour) in enumerate(parts):
            named.setdefault(part, colour)
            share = float(share)
            data.append({
                "r": r, "row": name, "k": k, "part": part, "value": share, "colour": colour,
                "start": acc, "end": acc + share, "ink": text_on(colour),
                "text": fmt.pct(share, 0) if share * width >= SHARE_TEXT_MIN_WIDTH else None,
                "tip": f"{name} · {part}: {fmt.pct(share)}",
            })
            acc += share
    x_scale = alt.Scale(domain=[0, 1], nice=False, zero=True)
    y = alt.Y("r:O", title=None, scale=alt.Scale(domain=list(range(len(rows))),
                                                 paddingInner=18 / 58, paddingOuter=0.2),
              axis=alt.Axis(labelExpr=_labels([name for name, _ in rows]), ticks=False,
                            domain=False, labelFontSize=12, labelColor=INK, labelPadding=10))
    base = alt.Chart(inline(data))
    tooltip = alt.Tooltip("tip:N", title=None)
    bars = base.mark_bar(stroke="#ffffff", strokeWidth=1).encode(
        x=alt.X("start:Q", scale=x_scale, title=None, axis=alt.Axis(
            values=[0, 0.25, 0.5, 0.75, 1], format=".0%", grid=False, domain=False)),
        x2=alt.X2("end:Q"), y=y, color=alt.Color("colour:N", scale=None), tooltip=tooltip)
    text = base.transform_filter("isValid(datum.text)").transform_calculate(
        middle="(datum.start + datum.end) / 2").mark_text(
        fontSize=11.5, fontWeight=600, baseline="middle").encode(
        x=alt.X("middle:Q", scale=x_scale), y=y, text=alt.Text("text:N"),
        color=alt.Color("ink:N", scale=None), tooltip=tooltip)
    legend = alt.Chart(inline([{"part": p} for p in named])).mark_point(
        filled=True, opacity=0).encode(color=alt.Color(
            "part:N", scale=alt.Scale(domain=list(named), range=list(named.values())),
            legend=alt.Legend(orient="top", title=None, symbolType="square", symbolOpacity=1,
                              symbolStrokeWidth=0, symbolSize=120)))
    chart = alt.layer(bars, text, legend) if named else alt.layer(bars, text)
    if heading:
        chart = chart.properties(title=heading)
    return finish(chart, label, width=width, height=58 * max(len(rows), 1))


__all__ = ["funnel_chart", "hbar_chart", "heat_colour", "heatmap_chart", "share_bars_chart",
           "text_on"]
