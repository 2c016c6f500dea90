"""Rolling distinct active users (WAU/MAU): which algorithm, measured on DuckDB.

Generates synthetic product events with DuckDB SQL (default 10 million events over
365 days from 400,000 users with skewed activity), aggregates them to user-days (as
``int_user_activity_daily`` does), then computes, for every calendar day, WAU and MAU
(distinct users active in the 7 / 30 days ending that day) with several algorithms:

  range_join    calendar x user-days range join, count(distinct) per day
  expand        each user-day expanded to the 30 days it covers, count(distinct) per day
  islands       per user, merge overlapping coverage intervals [d, d+29] (gaps and
                islands), then a +1/-1 sweep with a running sum over the calendar
  next_active   per user-day, coverage ends at min(next active day, d+30): the intervals of
                one user are disjoint, so no merging; +1/-1 sweep over the calendar
                (one lead() window; the dbt model uses this one)
  window_distinct  DuckDB's count(distinct ...) over a 29-day RANGE frame (DuckDB only)

Every result is checked against ``expand`` (or the first approach run; identical rows),
then timings are printed
as a Markdown table. Usage:

    .venv/bin/python bench/rolling_distinct.py [--events 10000000] [--users 400000]
        [--days 365] [--threads 2] [--repeat 2] [--only name,name]
"""

from __future__ import annotations

import argparse
import os
import time

import duckdb

GENERATE_SQL = """
create or replace table bench_users as
select
    u as user_id,
    cast(floor(random() * {days}) as integer) as start_day,
    -- lifetimes from a day to the whole period, most users short-lived
    1 + cast(floor({days} * random() * random()) as integer) as life_days
from range({users}) as t(u);

create or replace table bench_events as
select
    e.user_id,
    date '2024-01-01' + least(u.start_day + cast(floor(random() * u.life_days) as integer), {days} - 1)
        as activity_date
from (
    -- skewed: a few heavy users, a long tail of light ones
    select cast(floor(pow(random(), 2) * {users}) as integer) as user_id
    from range({events})
) as e
join bench_users as u using (user_id);

create or replace table user_days as
select user_id, activity_date, count(*) as event_count
from bench_events
group by user_id, activity_date;

create or replace table calendar as
select cast(d as date) as d
from range(date '2024-01-01', date '2024-01-01' + {days}, interval 1 day) as t(d);
"""

# The +1/-1 sweep that ends islands and next_active: the running sum over the calendar of
# the coverage changes ``deltas`` (d, w, m) is each day's WAU and MAU.
SWEEP_SQL = """
        per_day as (select d, sum(w) as w, sum(m) as m from deltas group by d)
        select c.d,
               sum(coalesce(p.w, 0)) over (order by c.d rows unbounded preceding) as wau,
               sum(coalesce(p.m, 0)) over (order by c.d rows unbounded preceding) as mau
        from calendar as c
        left join per_day as p on p.d = c.d
"""

APPROACHES: dict[str, str] = {
    "range_join": """
        select c.d,
               count(distinct case when u.activity_date > c.d - 7 then u.user_id end) as wau,
               count(distinct u.user_id) as mau
        from calendar as c
        left join user_days as u
            on u.activity_date between c.d - 29 and c.d
        group by c.d
    """,
    "expand": """
        with covered as (
            select u.user_id, u.activity_date + k as d, k
            from user_days as u, (select cast(range as integer) as k from range(30)) as t
        )
        select c.d,
               count(distinct case when covered.k < 7 then covered.user_id end) as wau,
               count(distinct covered.user_id) as mau
        from calendar as c
        left join covered on covered.d = c.d
        group by c.d
    """,
    "islands": """
        with gaps as (
            select user_id, activity_date,
                   activity_date - lag(activity_date) over (
                       partition by user_id order by activity_date) as gap
            from user_days
        ),
        numbered as (
            select user_id, activity_date,
                   sum(case when gap is null or gap > 7 then 1 else 0 end) over (
                       partition by user_id order by activity_date rows unbounded preceding) as w_island,
                   sum(case when gap is null or gap > 30 then 1 else 0 end) over (
                       partition by user_id order by activity_date rows unbounded preceding) as m_island
            from gaps
        ),
        w_spans as (
            select min(activity_date) as s, max(activity_date) + 7 as e
            from numbered group by user_id, w_island
        ),
        m_spans as (
            select min(activity_date) as s, max(activity_date) + 30 as e
            from numbered group by user_id, m_island
        ),
        deltas as (
            select s as d, 1 as w, 0 as m from w_spans
            union all select e, -1, 0 from w_spans
            union all select s, 0, 1 from m_spans
            union all select e, 0, -1 from m_spans
        ),
    """ + SWEEP_SQL,
    "next_active": """
        with spans as (
            select activity_date,
                   lead(activity_date) over (partition by user_id order by activity_date) as next_date
            from user_days
        ),
        deltas as (
            select activity_date as d, 1 as w, 1 as m from spans
            union all
            select least(coalesce(next_date, activity_date + 7), activity_date + 7), -1, 0 from spans
            union all
            select least(coalesce(next_date, activity_date + 30), activity_date + 30), 0, -1 from spans
        ),
    """ + SWEEP_SQL,
    "window_distinct": """
        with per_row as (
            select activity_date as d,
                   count(distinct user_id) over (
                       order by activity_date
                       range between interval 6 day preceding and current row) as wau,
                   count(distinct user_id) over (
                       order by activity_date
                       range between interval 29 day preceding and current row) as mau
            from user_days
        ),
        per_day as (select d, max(wau) as wau, max(mau) as mau from per_row group by d)
        select c.d,
               coalesce(p.wau, 0) as wau,
               coalesce(p.mau, 0) as mau
        from calendar as c
        left join per_day as p on p.d = c.d
    """,
}
# window_distinct has no row on a day without activity: its WAU/MAU there would be the
# previous rows' frame, so the comparison only holds when every day has activity (it does
# in the generated data; the dbt model does not use it).


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=400_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated approach names")
    args = parser.parse_args()

    names = [n for n in APPROACHES if not args.only or n in args.only.split(",")]
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    con.execute("select setseed(0.42)")
    started = time.perf_counter()
    for stmt in GENERATE_SQL.format(events=args.events, users=args.users, days=args.days).split(";"):
        if stmt.strip():
            con.execute(stmt)
    gen_s = time.perf_counter() - started
    events, user_days, users = con.execute(
        "select (select count(*) from bench_events), count(*), count(distinct user_id) from user_days"
    ).fetchone()
    print(
        f"duckdb {duckdb.__version__}, threads={args.threads}, cpus={os.cpu_count()}: "
        f"{events:,} events -> {user_days:,} user-days of {users:,} users over {args.days} days "
        f"(generated in {gen_s:.1f} s)\n"
    )

    timings: dict[str, list[float]] = {}
    for name in names:
        timings[name] = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            con.execute(f"create or replace table result_{name} as {APPROACHES[name]}")
            timings[name].append(time.perf_counter() - t0)

    reference = "expand" if "expand" in names else names[0]
    print("| approach | best s | runs s | same result as " + reference + " |")
    print("|---|---:|---|---|")
    for name in names:
        diff = con.execute(
            f"""select count(*) from (
                (select d, wau, mau from result_{name} except select d, wau, mau from result_{reference})
                union all
                (select d, wau, mau from result_{reference} except select d, wau, mau from result_{name}))"""
        ).fetchone()[0]
        runs = ", ".join(f"{t:.2f}" for t in timings[name])
        print(f"| {name} | {min(timings[name]):.2f} | {runs} | {'yes' if diff == 0 else f'NO ({diff} rows differ)'} |")
    peak = con.execute(
        "select max(mau), max(wau) from result_" + reference
    ).fetchone()
    print(f"\npeak MAU {peak[0]:,}, peak WAU {peak[1]:,}")


if __name__ == "__main__":
    main()
