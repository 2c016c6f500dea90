"""The product section: active users, stickiness, activation, the AARRR funnel, user
cohorts and the net promoter score."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dagster_project.reports import charts as s
from dagster_project.reports import charts_grid as grid
from dagster_project.reports import fmt
from dagster_project.reports.report_data import Context, NoData, Section, need
from dagster_project.reports.report_page import Panel
from dagster_project.reports.sections.retention import cohort_chart

SECTION = Section("product")


def _target_ref(ctx: Context, kpi: str, text: Callable[[float], str], colour: str = s.INK
                ) -> list[s.Ref]:
    """The KPI's latest target as a reference line labelled "target <text>" (none without
    a target)."""
    target = ctx.target(kpi)
    return [] if target is None else [s.Ref(target, f"target {text(target)}", colour)]


def _pct(value: float) -> str:
    return fmt.pct(value, 0)


@SECTION.panel("active-users", "Active users: DAU, WAU, MAU", "def-active-users",
               "product_usage_daily")
def panel_active_users(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("product_usage_daily", "date, dau, wau, mau",
                    order="date", source="product_events")
    p.units = "Distinct active users (count), daily"
    p.definition = "Users with an active event that day, and in the 7 and 30 days ending that day."
    lines = [s.Series(name.upper(), [r[name] for r in rows], colour, width=width)
             for name, colour, width in (("mau", s.PRIMARY, 2), ("wau", "#5b8fd1", 1.6),
                                         ("dau", s.SECONDARY, 1.1))]
    p.svgs.append(s.xy_chart(s.XYSpec([r["date"] for r in rows], "count", "Active users", "Day",
                                      continuous=True, lines=lines, label="DAU WAU MAU")))
    return p


@SECTION.panel("stickiness", "Stickiness (DAU/MAU)", "def-stickiness", "product_usage_daily")
def panel_stickiness(ctx: Context, p: Panel) -> Panel:
    rows = ctx.marts.rows(
        "marts.product_usage_daily",
        "select * from (select date, stickiness, avg(stickiness) over (order by date rows between "
        "6 preceding and current row) as week_mean, row_number() over (order by date) as day_number "
        "from marts.product_usage_daily) where day_number >= 30 order by date",
        source="the landing source product_events")
    need([r["stickiness"] for r in rows], "stickiness value")
    p.units = "% of the month's active users active on the day"
    p.definition = ("DAU / MAU per day (light) and its 7-day mean (bold), from the first full "
                    "30-day window; dashed: the target.")
    lines = [s.Series("Daily", [r["stickiness"] for r in rows], s.PRIMARY_LIGHT, width=1),
             s.Series("7-day mean", [r["week_mean"] for r in rows], s.PRIMARY, width=2.2)]
    p.svgs.append(s.xy_chart(s.XYSpec(
        [r["date"] for r in rows], "fraction", "DAU / MAU", "Day", continuous=True, lines=lines,
        refs=_target_ref(ctx, "dau_mau", _pct), label="stickiness")))
    return p


@SECTION.panel("activation", "Activation rate", "def-activation", "activation_monthly")
def panel_activation(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("activation_monthly", "signup_month, users, activated_users, activation_rate",
                    order="signup_month", source="users and product_events")
    need([r["activation_rate"] for r in rows], "activation rate")
    months = [r["signup_month"] for r in rows]
    window = int(ctx.params.get("activation_window_days", 7))  # type: ignore[arg-type]
    p.units = "% of each sign-up month's users activated"
    p.definition = (f"Users who activate within {window} days of signing up / users who signed "
                    "up that month.")
    p.svgs.append(s.xy_chart(s.XYSpec(
        months, "fraction", "Activated", "Sign-up month",
        bars=[s.Series("", [r["activation_rate"] for r in rows], s.PRIMARY)],
        refs=_target_ref(ctx, "activation_rate", _pct), faded=ctx.faded(months),
        label="activation")))
    note = ctx.mtd_note(months)
    p.note = note.replace("month to date", "still signing up") if note else None
    return p


@SECTION.panel("funnel", "AARRR funnel", "def-funnel", "funnel_monthly")
def panel_funnel(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("funnel_monthly", "month, step_order, step_name, users",
                    order="month, step_order", source="product_events")
    window = int(ctx.params.get("funnel_window_days", 30))  # type: ignore[arg-type]
    months = sorted({r["month"] for r in rows})
    # The latest cohort month whose funnel window has closed, so late steps are complete.
    closed = [m for m in months
              if ctx.as_of is None or ctx.month_end(m) + dt.timedelta(days=window) <= ctx.as_of]
    month = closed[-1] if closed else months[-1]
    steps = [(str(r["step_name"]), float(r["users"])) for r in rows if r["month"] == month]
    if not steps or not steps[0][1]:
        raise NoData(f"nobody entered the funnel in {fmt.month_label(month)}.")
    p.title = f"AARRR funnel, {fmt.month_label(month)} cohort"
    p.units = "Users (and anonymous visitors) reaching each step, in order"
    p.definition = (f"Steps of seeds/funnel_steps.csv reached in order within {window} days; "
                    "the latest cohort whose window has closed.")
    p.svgs.append(grid.funnel_chart(steps, label="funnel"))
    return p


@SECTION.panel("user-cohorts", "User cohorts: retention", "def-user-cohorts",
               "user_cohorts_monthly", "full")
def panel_user_cohorts(ctx: Context, p: Panel) -> Panel:
    p.units = "% of each sign-up month's users active in month k"
    p.definition = ("Rows: sign-up month (size = users); cells: % of them active at least once "
                    "in month k.")
    p.svgs.append(cohort_chart(ctx, "user_cohorts_monthly", "cohort_users", "user_retention",
                               source="users and product_events",
                               x_title="Months since sign-up", label="user cohorts"))
    return p


@SECTION.panel("nps", "Net promoter score", "def-nps", "nps_monthly", "full")
def panel_nps(ctx: Context, p: Panel) -> Panel:
    rows = ctx.read("nps_monthly", "month, responses, promoters, detractors, nps",
                    order="month", source="survey_responses")
    need([r["nps"] for r in rows], "NPS")
    months = [r["month"] for r in rows]

    def share(column: str, sign: float) -> list[float | None]:
        return [sign * 100.0 * r[column] / r["responses"] if r["responses"] else None
                for r in rows]

    p.units = "NPS points (−100 to 100); bars: % of responses"
    p.definition = "Promoters (9–10) up, detractors (0–6) down; NPS is the difference, the line."
    p.svgs.append(s.xy_chart(s.XYSpec(
        months, "score", "Points / % of responses", "Month",
        bars=[s.Series("Promoters %", share("promoters", 1.0), s.GOOD_LIGHT),
              s.Series("Detractors %", share("detractors", -1.0), s.BAD_LIGHT)],
        lines=[s.Series("NPS", [r["nps"] for r in rows], s.INK, dots=True, width=2.4)],
        refs=_target_ref(ctx, "nps", "{:.0f}".format, s.PRIMARY), faded=ctx.faded(months),
        width=1240, height=280, label="NPS")))
    p.note = ctx.mtd_note(months)
    return p
