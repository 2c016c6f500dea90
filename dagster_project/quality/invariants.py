"""Cross-row rules of the published marts that an expectation suite cannot state, as SQL
pushed down to DuckDB. Each query returns the failing rows (none when the rule holds).

- ``bridge_reconciles``: ``mrr_end = mrr_start + new + expansion + reactivation -
  contraction - churned`` to the cent, likewise ``net_new_mrr``, ``arr_end`` and the
  customer counts, on every row (company and segment marts).
- ``start_equals_previous_end``: each month starts where the previous one ended.
- ``months_continuous`` / ``days_continuous``: no gaps in the series, nothing after the
  as-of date (and, where docs/METRICS.md says so, the series reaches it).
- ``row_count_matches_calendar``: one row per month from the first month with subscription
  activity through the as-of month.
- ``segments_sum_to_company``: the segment mart summed over its dimensions gives the
  company mart.
- ``cohort_triangle_complete``: every cohort has every month through the as-of month.
- ``counts_add_up`` (NPS), ``one_row_per_target`` (KPI scorecard).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster_project.quality.results import markdown_table, one_line, plain

if TYPE_CHECKING:
    import duckdb

CENT = 0.005  # "to the cent": a difference of half a cent or more is a failure
AS_OF = "intermediate.int_as_of_date"
SUBSCRIPTION_EVENTS = "staging.stg_billing__subscription_events"
KPI_TARGETS = "staging.stg_reference__kpi_targets"
SAMPLE_ROWS = 5

BRIDGE_MONEY = ["mrr_start", "new_mrr", "expansion_mrr", "reactivation_mrr",
                "contraction_mrr", "churned_mrr", "mrr_end"]
BRIDGE_COLUMNS = [*BRIDGE_MONEY, "net_new_mrr", "arr_end", "customers_start",
                  "new_customers", "reactivated_customers", "churned_customers", "customers_end"]
SEGMENT_DIMENSIONS = ["segment", "region", "acquisition_channel"]


@dataclass(frozen=True)
class Invariant:
    name: str
    table: str  # the mart it guards, e.g. "marts.saas_metrics_monthly"
    description: str
    build: Callable[[set[str]], str]  # tables present -> SQL selecting the failing rows
    needs: tuple[str, ...] = ()  # other tables it cannot be judged without

    def sql(self, present: set[str]) -> str:
        return self.build(present)


@dataclass(frozen=True)
class InvariantResult:
    invariant: Invariant
    passed: bool
    failing_rows: int = 0
    columns: tuple[str, ...] = ()
    sample: tuple[tuple[Any, ...], ...] = ()
    rows_checked: int | None = None
    note: str | None = None  # why it was not judged, or the error that stopped it
    error: bool = False
    sql: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.invariant.name

    @property
    def description(self) -> str:
        table, name = self.invariant.table, self.invariant.name
        if self.error:
            return one_line(f"{table}: {name} could not be evaluated: {self.note}")
        if self.note:
            return f"{table}: {name} not judged: {self.note}"
        if self.passed:
            rows = f" on {self.rows_checked:,} rows" if self.rows_checked is not None else ""
            return f"{table}: {name} holds{rows}"
        first = ""
        if self.sample:
            pairs = list(zip(self.columns, self.sample[0], strict=False))
            if "problem" in self.columns:  # key columns, what is wrong, by how much
                pairs = pairs[: self.columns.index("problem") + 2]
            first = ", ".join(f"{c}={plain(v)}" for c, v in pairs[:8])
        return one_line(
            f"{table}: {name} broken on {self.failing_rows} row(s)"
            + (f", e.g. {first}" if first else ""),
        )

    def sample_markdown(self) -> str:
        return markdown_table(self.columns, self.sample)


def _q(table: str) -> str:
    return ".".join(f'"{p}"' for p in table.split("."))


def _as_of_date(present: set[str]) -> str:
    return f"(select max(as_of_date) from {AS_OF})" if AS_OF in present else "null"


def _as_of_month(present: set[str]) -> str:
    if AS_OF not in present:
        return "cast(null as date)"
    return f"(select cast(date_trunc('month', max(as_of_date)) as date) from {AS_OF})"


def _off_by_a_cent(expr: str) -> str:
    return f"not coalesce(abs({expr}) < {CENT}, false)"


def bridge_sql(table: str, keys: list[str]) -> str:
    mrr_gap = ("mrr_end - (mrr_start + new_mrr + expansion_mrr + reactivation_mrr"
               " - contraction_mrr - churned_mrr)")
    customers_gap = ("customers_end - (customers_start + new_customers"
                     " + reactivated_customers - churned_customers)")
    key_list = ", ".join(keys)
    return f"""
with gaps as (
    select {key_list}, mrr_start, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr,
        churned_mrr, mrr_end, net_new_mrr, arr_end, customers_start, new_customers,
        reactivated_customers, churned_customers, customers_end,
        {mrr_gap} as mrr_gap,
        net_new_mrr - (mrr_end - mrr_start) as net_new_gap,
        arr_end - 12 * mrr_end as arr_gap,
        {customers_gap} as customers_gap
    from {_q(table)}
),
judged as (
    select *, concat_ws('; ',
        case when {_off_by_a_cent('mrr_gap')}
            then 'mrr_end <> mrr_start + new + expansion + reactivation - contraction - churned'
            end,
        case when {_off_by_a_cent('net_new_gap')} then 'net_new_mrr <> mrr_end - mrr_start' end,
        case when {_off_by_a_cent('arr_gap')} then 'arr_end <> 12 * mrr_end' end,
        case when {_off_by_a_cent('customers_gap')}
            then 'customers_end <> customers_start + new + reactivated - churned' end
    ) as problem
    from gaps
)
select {key_list}, problem, mrr_gap, customers_gap, mrr_start, new_mrr, expansion_mrr,
    reactivation_mrr, contraction_mrr, churned_mrr, mrr_end, customers_start, customers_end
from judged
where problem <> ''
order by {key_list}
"""


def calendar_sql(table: str, column: str, step: str, through_as_of: bool,
                 present: set[str]) -> str:
    """Missing steps between the first value and the last (or the as-of date), and values
    after the as-of date."""
    as_of = _as_of_date(present) if step == "day" else _as_of_month(present)
    last = f"coalesce({as_of}, max(v))" if through_as_of else "max(v)"
    return f"""
with t as (select distinct cast({column} as date) as v from {_q(table)} where {column} is not null),
bounds as (select min(v) as lo, {last} as hi, {as_of} as as_of from t),
calendar as (
    select cast(unnest(generate_series(lo, hi, interval 1 {step})) as date) as v
    from bounds where lo is not null
)
select v as {column}, 'missing {step}' as problem from calendar where v not in (select v from t)
union all
select t.v, 'after the as-of {step}' from t, bounds where t.v > bounds.as_of
order by 1
"""


def continuity_sql(table: str) -> str:
    return f"""
with t as (select month, mrr_start, mrr_end, customers_start, customers_end from {_q(table)}),
first as (select min(month) as month from t),
judged as (
    select cur.month, prev.mrr_end as previous_mrr_end, cur.mrr_start,
        prev.customers_end as previous_customers_end, cur.customers_start,
        concat_ws('; ',
            case when prev.month is not null
                and {_off_by_a_cent('cur.mrr_start - prev.mrr_end')}
                then 'mrr_start <> previous month''s mrr_end' end,
            case when prev.month is not null
                and cur.customers_start is distinct from prev.customers_end
                then 'customers_start <> previous month''s customers_end' end,
            case when cur.month = first.month
                and not (coalesce(cur.mrr_start, 0) = 0 and coalesce(cur.customers_start, 0) = 0)
                then 'first month does not start from 0' end
        ) as problem
    from t as cur
    cross join first
    left join t as prev on prev.month = cast(cur.month - interval 1 month as date)
)
select month, problem, previous_mrr_end, mrr_start, previous_customers_end, customers_start
from judged where problem <> '' order by month
"""


def row_count_sql(table: str, present: set[str]) -> str:
    return f"""
with expected as (
    select cast(date_trunc('month', min(effective_date)) as date) as first_month,
        {_as_of_month(present)} as last_month
    from {SUBSCRIPTION_EVENTS}
),
actual as (select min(month) as first_month, max(month) as last_month, count(*) as row_count
           from {_q(table)})
select e.first_month as expected_first_month, e.last_month as expected_last_month,
    date_diff('month', e.first_month, e.last_month) + 1 as expected_rows,
    a.first_month, a.last_month, a.row_count
from expected as e, actual as a
where e.first_month is not null and e.last_month is not null
  and (a.first_month is distinct from e.first_month
       or a.last_month is distinct from e.last_month
       or a.row_count <> date_diff('month', e.first_month, e.last_month) + 1)
"""


def segments_sum_sql(table: str, company: str) -> str:
    sums = ", ".join(f"sum({c}) as {c}" for c in BRIDGE_COLUMNS)
    cols = ", ".join(BRIDGE_COLUMNS)
    pairs = ", ".join(f"co.{c} as co_{c}, seg.{c} as seg_{c}" for c in BRIDGE_COLUMNS)
    unpivot = "\n    union all\n    ".join(
        f"select month, '{c}' as column_name, co_{c} as company, seg_{c} as segments_sum from j"
        for c in BRIDGE_COLUMNS
    )
    return f"""
with seg as (select month, {sums} from {_q(table)} group by month),
co as (select month, {cols} from {_q(company)}),
j as (select coalesce(co.month, seg.month) as month, {pairs}
      from co full join seg on co.month = seg.month),
long as (
    {unpivot}
)
select month, column_name, company, segments_sum, segments_sum - company as difference
from long
where {_off_by_a_cent('coalesce(segments_sum, 0) - coalesce(company, 0)')}
order by month, column_name
"""


def triangle_sql(table: str, present: set[str]) -> str:
    return f"""
with t as (select cohort_month, months_since_start from {_q(table)}
           where cohort_month is not null and months_since_start is not null),
last as (
    select coalesce({_as_of_month(present)},
        max(cast(cohort_month + to_months(cast(months_since_start as integer)) as date))
    ) as month
    from t
),
expected as (
    select cohort_month,
        unnest(generate_series(0, date_diff('month', cohort_month, (select month from last))))
            as months_since_start
    from (select distinct cohort_month from t)
)
select e.cohort_month, e.months_since_start, 'missing cell' as problem
from expected as e
where not exists (select 1 from t where t.cohort_month = e.cohort_month
                  and t.months_since_start = e.months_since_start)
union all
select cohort_month, months_since_start, 'after the as-of month'
from t
where cast(cohort_month + to_months(cast(months_since_start as integer)) as date)
      > (select month from last)
order by 1, 2
"""


def nps_sql(table: str) -> str:
    return f"""
select * from (
    select month, responses, promoters, passives, detractors, nps,
        case
            when promoters + passives + detractors <> responses
                then 'promoters + passives + detractors <> responses'
            when responses = 0 and nps is not null then 'nps set on a month without responses'
            when responses > 0
                and not coalesce(abs(nps - 100.0 * (promoters - detractors) / responses) < 1e-6,
                                 false)
                then 'nps <> 100 * (promoters - detractors) / responses'
        end as problem
    from {_q(table)}
) where problem is not null
order by month
"""


def targets_sql(table: str) -> str:
    return f"""
with targets as (select distinct kpi, grain, cast(period_start as date) as period_start
                 from {KPI_TARGETS}),
card as (select distinct kpi, grain, cast(period_start as date) as period_start
         from {_q(table)})
select coalesce(t.kpi, c.kpi) as kpi, coalesce(t.grain, c.grain) as grain,
    coalesce(t.period_start, c.period_start) as period_start,
    case when c.kpi is null then 'target without a scorecard row'
         else 'scorecard row without a target' end as problem
from targets as t
full join card as c
    on t.kpi = c.kpi and t.grain = c.grain and t.period_start = c.period_start
where t.kpi is null or c.kpi is null
order by 1, 2, 3
"""


def _marts(name: str) -> str:
    return f"marts.{name}"


SAAS = _marts("saas_metrics_monthly")
SEGMENTS = _marts("mrr_movements_monthly")

INVARIANTS: tuple[Invariant, ...] = (
    Invariant("bridge_reconciles", SAAS,
              "The MRR bridge, net new MRR, ARR and customer counts reconcile to the cent.",
              lambda p: bridge_sql(SAAS, ["month"])),
    Invariant("start_equals_previous_end", SAAS,
              "Each month starts with the previous month's end (MRR and customers); "
              "the first month starts from 0.",
              lambda p: continuity_sql(SAAS)),
    Invariant("months_continuous", SAAS,
              "No month missing from the first month through the as-of month; none after it.",
              lambda p: calendar_sql(SAAS, "month", "month", True, p)),
    Invariant("row_count_matches_calendar", SAAS,
              "One row per month from the month of the earliest effective_at through the "
              "as-of month.",
              lambda p: row_count_sql(SAAS, p), needs=(SUBSCRIPTION_EVENTS, AS_OF)),
    Invariant("bridge_reconciles", SEGMENTS,
              "Every segment row's MRR bridge and customer counts reconcile to the cent.",
              lambda p: bridge_sql(SEGMENTS, ["month", *SEGMENT_DIMENSIONS])),
    Invariant("segments_sum_to_company", SEGMENTS,
              "Summed over segment, region and channel, every bridge column equals "
              "saas_metrics_monthly's, to the cent.",
              lambda p: segments_sum_sql(SEGMENTS, SAAS), needs=(SAAS,)),
    Invariant("cohort_triangle_complete", _marts("customer_cohorts_monthly"),
              "Every cohort has a row for each month from its start through the as-of month.",
              lambda p: triangle_sql(_marts("customer_cohorts_monthly"), p)),
    Invariant("cohort_triangle_complete", _marts("user_cohorts_monthly"),
              "Every cohort has a row for each month from its start through the as-of month.",
              lambda p: triangle_sql(_marts("user_cohorts_monthly"), p)),
    Invariant("days_continuous", _marts("product_usage_daily"),
              "A continuous calendar from the first day through the as-of date.",
              lambda p: calendar_sql(_marts("product_usage_daily"), "date", "day", True, p)),
    Invariant("months_continuous", _marts("nps_monthly"),
              "No month missing between the first and last month; none after the as-of month.",
              lambda p: calendar_sql(_marts("nps_monthly"), "month", "month", False, p)),
    Invariant("counts_add_up", _marts("nps_monthly"),
              "promoters + passives + detractors = responses and nps = 100 x (promoters - "
              "detractors) / responses (NULL without responses).",
              lambda p: nps_sql(_marts("nps_monthly"))),
    Invariant("months_continuous", _marts("leads_monthly"),
              "No month missing between the first and last month; none after the as-of month.",
              lambda p: calendar_sql(_marts("leads_monthly"), "month", "month", False, p)),
    Invariant("one_row_per_target", _marts("kpi_scorecard"),
              "Exactly the (kpi, grain, period_start) rows of seeds/kpi_targets.csv.",
              lambda p: targets_sql(_marts("kpi_scorecard")), needs=(KPI_TARGETS,)),
)


def invariants_for(table: str) -> list[Invariant]:
    """The invariants guarding ``table`` (``marts.<name>``)."""
    return [inv for inv in INVARIANTS if inv.table == table]


def present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def run_invariant(
    con: duckdb.DuckDBPyConnection, invariant: Invariant, present: set[str] | None = None
) -> InvariantResult:
    """Run one invariant; a table not built yet passes with a note, a SQL error fails."""
    import duckdb

    started = time.perf_counter()
    present = present_tables(con) if present is None else present
    if invariant.table not in present:
        return InvariantResult(invariant, True, note="table not built yet (no data for it)")
    missing = [t for t in invariant.needs if t not in present]
    if missing:
        return InvariantResult(invariant, True, note=f"needs {', '.join(missing)}, not built")
    sql = invariant.sql(present)
    try:
        rows_checked = con.execute(f"select count(*) from {_q(invariant.table)}").fetchone()[0]
        failing = con.execute(f"select count(*) from ({sql})").fetchone()[0]
        cursor = con.execute(f"select * from ({sql}) limit {SAMPLE_ROWS}")
        columns = tuple(d[0] for d in cursor.description)
        sample = tuple(tuple(plain(v) for v in row) for row in cursor.fetchall())
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        return InvariantResult(invariant, False, note=message, error=True, sql=sql,
                               seconds=time.perf_counter() - started)
    return InvariantResult(
        invariant,
        passed=failing == 0,
        failing_rows=int(failing),
        columns=columns,
        sample=sample,
        rows_checked=int(rows_checked),
        sql=sql,
        seconds=time.perf_counter() - started,
    )
