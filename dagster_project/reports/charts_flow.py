"""The MRR bridge of the KPI report (a waterfall) as a Vega-Lite spec. (The monthly
waterfall of movements, which the page's filters slice, is ``charts.sliced_chart``.)

Each builder returns a :class:`charts.Figure`. Every data row carries the unrounded
input in ``value``; the spans the bars are drawn over are in ``base`` (where a bar
starts) and ``top`` (where it ends, ``base + value`` for a delta).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster_project.reports import fmt
from dagster_project.reports.charts import (
    AXIS,
    BAD,
    BAD_LIGHT,
    GOOD,
    GOOD_LIGHT,
    INK,
    MUTED,
    PRIMARY,
    Figure,
    axis_label_expr,
    finish,
    inline,
    value_text,
)

__all__ = [
    "Step",
    "waterfall_chart",
    "waterfall_rows",
]

# A zig-zag across the foot of a bar, in the unit square of a Vega symbol: says that the
# bar does not start at zero (the value axis is cut).
_ZIGZAG = "M-1,0" + "".join(
    f"L{-1 + k / 3:.4f},{0.12 if k % 2 else -0.12}" for k in range(1, 6)) + "L1,0"


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a ``total`` (drawn from the baseline) or a ``delta``."""

    label: str
    value: float
    kind: str = "delta"  # 'total' or 'delta'
    colour: str | None = None


# ---------------------------------------------------------------------------- waterfall


def _delta_text(v: float, kind: str, currency: str) -> str:
    return fmt.signed_money(v, currency) if kind == "money" else value_text(v, kind, currency)


def waterfall_rows(steps: Sequence[Step], *, kind: str = "money",
                   currency: str = "USD") -> list[dict[str, Any]]:
    """A row per bar: a total spans [0, value] and resets the running level; a delta spans
    from the running level (``base``) to level + value (``top``), so each bar starts where
    the previous one ended. ``lo``/``hi`` are the span's ends in order; ``level`` is where
    the bar leaves the running total (the connector to the next bar); ``next`` the next
    bar's label."""
    rows: list[dict[str, Any]] = []
    level = 0.0
    for i, step in enumerate(steps):
        v = float(step.value)
        if step.kind == "total":
            base, top = 0.0, v
            colour = step.colour or PRIMARY
            text = value_text(v, kind, currency)
            text_colour = INK
        else:
            base, top = level, level + v
            colour = step.colour or (GOOD if v >= 0 else BAD)
            text = _delta_text(v, kind, currency)
            text_colour = colour if colour not in (GOOD_LIGHT, BAD_LIGHT) else MUTED
        level = top
        rows.append({
            "x": step.label, "i": i, "kind": step.kind, "value": step.value,
            "base": base, "top": top, "lo": min(base, top), "hi": max(base, top),
            "level": level, "next": steps[i + 1].label if i + 1 < len(steps) else None,
            "colour": colour, "text": text, "text_colour": text_colour,
            "tip": f"{step.label}: {text}",
        })
    return rows


def _waterfall_domain(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float, bool]:
    """The value axis' range and whether it is cut (starts above zero): when the totals
    dwarf the deltas the axis starts near the lowest delta, so the movements can be seen
    (as the report always drew them)."""
    totals = [r["hi"] for r in rows if r["kind"] == "total"]
    deltas = [r for r in rows if r["kind"] != "total"]
    levels = totals + [r["lo"] for r in deltas] + [r["hi"] for r in deltas] + [0.0]
    lo, hi = min(levels), max(levels)
    delta_lo = min((r["lo"] for r in deltas), default=lo)
    truncated = bool(totals) and delta_lo > 0 and (hi - delta_lo) < 0.6 * delta_lo
    if truncated:
        span = hi - delta_lo or abs(hi) * 0.1 or 1.0
        return delta_lo - 0.35 * span, hi + 0.08 * span, True
    span = hi - lo or 1.0
    # a little room over the highest bar for its value label
    return lo, hi + 0.06 * span, False


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
) -> Figure:
    """The classic bridge: totals from the baseline, each delta from where the last ended,
    each bar labelled with its value and joined to the next by a dotted connector.

    When the totals dwarf the deltas the value axis starts above zero (so that the movements
    can be seen); the totals then carry a zig-zag at the bottom to say that they are cut.
    """
    import altair as alt

    rows = waterfall_rows(steps, kind=kind, currency=currency)
    lo, hi, truncated = _waterfall_domain(rows)
    keys = [s.label for s in steps]
    base = alt.Chart(inline(rows))
    x = alt.X("x:N", title=None, sort=keys,
              scale=alt.Scale(paddingInner=0.3, paddingOuter=0.15),
              axis=alt.Axis(labelOverlap=True, labelAngle=0))
    y_scale = alt.Scale(domain=[lo, hi], nice=True, zero=not truncated, clamp=True)
    y = alt.Y("top:Q", scale=y_scale, title=unit,
              axis=alt.Axis(labelExpr=axis_label_expr(kind, currency), tickCount=5))
    tooltip = alt.Tooltip("tip:N", title=None)
    layers = [
        base.mark_bar().encode(x=x, y=y, y2="base:Q", tooltip=tooltip,
                               color=alt.Color("colour:N", scale=None)),
        # connector: from the right edge of a bar to the left edge of the next, at the level
        # the bar leaves the running total
        base.transform_filter("isValid(datum.next)").mark_rule(
            color=AXIS, strokeDash=[2, 2], strokeWidth=1).encode(
            x=alt.X("x:N", sort=keys, bandPosition=1),
            x2=alt.X2("next:N", bandPosition=0),
            y=alt.Y("level:Q", scale=y_scale)),
        base.mark_text(baseline="bottom", dy=-5, fontSize=11, fontWeight=600).encode(
            x=x, y=alt.Y("hi:Q", scale=y_scale), text="text:N",
            color=alt.Color("text_colour:N", scale=None), tooltip=tooltip),
    ]
    if truncated:
        n = max(len(steps), 1)
        # the band width of the x scale: step * (1 - paddingInner), step = width / (n - 0.3 + 0.3)
        bandwidth = width / n * 0.7
        layers.append(base.transform_filter("datum.kind == 'total'").mark_point(
            shape=_ZIGZAG, size=bandwidth ** 2, filled=False, stroke="#ffffff",
            strokeWidth=2.5, opacity=1).encode(x=x, y=alt.value(height - 7)))
    chart = alt.layer(*layers)
    if heading:
        chart = chart.properties(title=heading)
    return finish(chart, label, width=width, height=height)


# ---------------------------------------------------------------------------- monthly
