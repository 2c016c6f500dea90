"""The MRR bridge of the KPI report (a waterfall) as a Vega-Lite spec, from rows by
segment, region and channel that the page's filters slice. (The monthly waterfall of
movements is ``charts.sliced_chart``.)

The browser sums each step over the rows the filters keep and lays the bridge out itself
(Vega transforms), so every data row carries its unrounded value and dimension values; the
static SVG shows every row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster_project.reports import fmt
from dagster_project.reports.charts import (
    ALL,
    AXIS,
    BAD_LIGHT,
    GOOD_LIGHT,
    INK,
    MUTED,
    PRIMARY,
    Figure,
    axis_label_expr,
    finish,
    inline,
    value_expr,
)

__all__ = ["Step", "waterfall_chart"]

# A zig-zag across the foot of a bar, in the unit square of a Vega symbol: says that the
# bar does not start at zero (the value axis is cut).
_ZIGZAG = "M-1,0" + "".join(
    f"L{-1 + k / 3:.4f},{0.12 if k % 2 else -0.12}" for k in range(1, 6)) + "L1,0"


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a ``total`` (drawn from the baseline) or a ``delta`` (drawn
    from where the bar before it ended), and its colour."""

    label: str
    kind: str = "delta"  # 'total' or 'delta'
    colour: str = PRIMARY


def _rows(steps: Sequence[Step], values: Sequence[Sequence[tuple[Mapping[str, str], float]]],
          dims: Sequence[str]) -> list[dict[str, Any]]:
    keys = [step.label for step in steps]
    rows: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        # light bars get muted labels (white-ish text would not read); totals ink
        text_colour = INK if step.kind == "total" else (
            MUTED if step.colour in (GOOD_LIGHT, BAD_LIGHT) else step.colour)
        for dimension_values, value in values[i]:
            if fmt.is_missing(value) or (value == 0 and step.kind != "total"):
                continue  # a zero adds nothing to a movement (a total keeps its bar)
            rows.append({"x": step.label, "o": i, "kind": step.kind, "value": float(value),
                         "colour": step.colour, "text_colour": text_colour,
                         "next": keys[i + 1] if i + 1 < len(keys) else None,
                         **{d: dimension_values.get(d) for d in dims}})
    return rows


def waterfall_chart(
    steps: Sequence[Step],
    values: Sequence[Sequence[tuple[Mapping[str, str], float]]],
    *,
    dims: Sequence[str] = (),
    kind: str = "money",
    unit: str,
    currency: str = "USD",
    width: int = 640,
    height: int = 280,
    label: str = "waterfall",
) -> Figure:
    """The classic bridge over the rows the page's filters keep (``dims``, of
    ``charts.FILTERS``): ``values[i]`` holds step i's rows, (their dimension values; their
    value). Each step is the sum of its rows kept; a total is drawn from the baseline, a
    delta from where the bar before it ended; each bar is labelled with its value and joined
    to the next by a dotted connector. When the totals dwarf the movements (the movements
    span less than 0.6 x their lowest level) the value axis is cut at 0.35 x their span
    below that level, so that they can be seen, and the totals, drawn to the foot of the
    plot, carry a zig-zag there."""
    import altair as alt

    keys = [step.label for step in steps]
    text = value_expr(kind, currency)
    signed = f"(datum.kind == 'delta' && datum.value >= 0 ? '+' : '') + {text}"
    keep = " && ".join(f"({d} == '{ALL}' || datum.{d} == {d})" for d in dims) or "true"
    base = (
        alt.Chart(inline(_rows(steps, values, dims)))
        .add_params(*[alt.param(name=d, value=ALL) for d in dims])
        .transform_filter(keep)
        .transform_aggregate(value="sum(value)",
                             groupby=["x", "o", "kind", "colour", "text_colour", "next"])
        # the running level: the first total, then each movement added in order
        .transform_calculate(d="datum.kind == 'delta' ? datum.value : 0",
                             s="datum.o == 0 ? datum.value : 0")
        .transform_window(cum="sum(d)", sort=[alt.SortField("o")], frame=[None, 0])
        .transform_joinaggregate(start="sum(s)")
        .transform_calculate(top="datum.kind == 'delta' ? datum.start + datum.cum : datum.value")
        .transform_calculate(bottom="datum.kind == 'delta' ? datum.top - datum.value : 0")
        .transform_calculate(move_lo="datum.kind == 'delta' ? min(datum.top, datum.bottom) : null",
                             span_hi="max(datum.top, datum.bottom)")
        .transform_joinaggregate(delta_lo="min(move_lo)", hi="max(span_hi)")
        .transform_calculate(cut="isValid(datum.delta_lo) && datum.delta_lo > 0 && "
                                 "datum.hi - datum.delta_lo < 0.6 * datum.delta_lo ? "
                                 "datum.delta_lo - 0.35 * (datum.hi - datum.delta_lo) : 0")
        .transform_calculate(
            label_y="max(datum.top, datum.bottom)",
            head="datum.hi + 0.08 * (datum.hi - datum.cut)",
            text=signed,
            tip=f"datum.x + ': ' + {signed}",
            desc="datum.x + ' | ' + datum.value + ' | ' + "
                 "(datum.kind == 'delta' ? datum.bottom : datum.cut) + ' | ' + datum.top")
    )
    # every step has its place, in order, whether the rows kept move it or not (the
    # layers' own domains would not keep the order)
    x = alt.X("x:N", title=None, sort=keys,
              scale=alt.Scale(domain=keys, paddingInner=0.3, paddingOuter=0.15),
              axis=alt.Axis(labelOverlap=True, labelAngle=0))
    y_scale = alt.Scale(zero=False, nice=True)
    y = alt.Y("top:Q", scale=y_scale, title=unit,
              axis=alt.Axis(labelExpr=axis_label_expr(kind, currency), tickCount=5))
    tooltip = alt.Tooltip("tip:N", title=None)
    colour = alt.Color("colour:N", scale=None)
    # the band width of the x scale: step * (1 - paddingInner), step = width / (n - 0.3 + 0.3)
    bandwidth = width / max(len(steps), 1) * 0.7
    layers = [
        # a movement from where the bar before it ended; a total from the foot of the plot
        base.transform_filter("datum.kind == 'delta'").mark_bar().encode(
            x=x, y=y, y2=alt.Y2("bottom:Q"), tooltip=tooltip, color=colour, description=alt.Description("desc:N")),
        base.transform_filter("datum.kind != 'delta'").mark_bar().encode(
            x=x, y=y, y2=alt.Y2Value(height), tooltip=tooltip, color=colour,
            description=alt.Description("desc:N")),
        # connector: from the right edge of a bar to the left edge of the next, at the level
        # the bar leaves the running total
        base.transform_filter("isValid(datum.next)").mark_rule(
            color=AXIS, strokeDash=[2, 2], strokeWidth=1).encode(
            x=alt.X("x:N", sort=keys, bandPosition=1),
            x2=alt.X2("next:N", bandPosition=0),
            y=alt.Y("top:Q", scale=y_scale)),
        base.mark_text(baseline="bottom", dy=-5, fontSize=11, fontWeight=600).encode(
            x=x, y=alt.Y("label_y:Q", scale=y_scale), text=alt.Text("text:N"),
            color=alt.Color("text_colour:N", scale=None), tooltip=tooltip),
        # the value axis: from the cut (0 when not cut) to room over the highest label
        base.mark_point(opacity=0).encode(x=x, y=alt.Y("cut:Q", scale=y_scale)),
        base.mark_point(opacity=0).encode(x=x, y=alt.Y("head:Q", scale=y_scale)),
        base.transform_filter("datum.kind == 'total' && datum.cut > 0").mark_point(
            shape=_ZIGZAG, size=bandwidth ** 2, filled=False, stroke="#ffffff",
            strokeWidth=2.5, opacity=1).encode(x=x, y=alt.YValue(height - 7)),
    ]
    return finish(alt.layer(*layers), label, width=width, height=height, filters=tuple(dims))
