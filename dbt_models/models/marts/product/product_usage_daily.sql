-- One row per day, a continuous calendar from the first signup or product event through
-- as_of_date (docs/METRICS.md, Usage). dau / wau / mau: distinct active users in the 1 / 7 / 30
-- days ending that day.
--
-- Rolling distinct counts in O(user-days), no self-join (bench/rolling_distinct.py): a
-- user-day d keeps its user in the W-day count on days d .. d+W-1, unless the user's next
-- active day n comes sooner, where that user-day's coverage stops and n's begins. One
-- user's coverage intervals [d, min(n, d+W)) are then disjoint and their union is exactly the
-- days on which the user is in the W-day count, so the count on a day is a running sum of
-- +1 (coverage starts) and -1 (coverage ends) over the calendar.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

user_activity as (
    select * from {{ ref('int_user_activity_daily') }}
),

events as (
    select * from {{ ref('stg_product__events') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

activity as (
    select
        user_activity.user_id,
        user_activity.activity_date
    from user_activity
    cross join as_of
    where user_activity.activity_date <= as_of.as_of_date
),

signups as (
    select users.signed_up_date
    from users
    cross join as_of
    where users.signed_up_date <= as_of.as_of_date
),

first_days as (
    select min(events.occurred_date) as first_date
    from events
    cross join as_of
    where events.occurred_date <= as_of.as_of_date
    union all
    select min(signed_up_date) from signups
),

bounds as (
    select
        (select min(first_date) from first_days) as start_date,
        as_of.as_of_date as end_date
    from as_of
),

calendar as (
    {{ calendar_spine('day', 'bounds.start_date', 'bounds.end_date', 'bounds') }}
),

coverage as (
    select
        activity_date,
        lead(activity_date) over (partition by user_id order by activity_date) as next_activity_date
    from activity
),

coverage_deltas as (
    select activity_date as delta_date, 1 as dau_delta, 1 as wau_delta, 1 as mau_delta
    from coverage
    union all
    select {{ usage_coverage_end('activity_date', 'next_activity_date', 7) }}, 0, -1, 0
    from coverage
    union all
    select {{ usage_coverage_end('activity_date', 'next_activity_date', 30) }}, 0, 0, -1
    from coverage
),

daily_deltas as (
    select
        delta_date,
        sum(dau_delta) as dau,
        sum(wau_delta) as wau_delta,
        sum(mau_delta) as mau_delta
    from coverage_deltas
    group by delta_date
),

daily_signups as (
    select
        signed_up_date,
        count(*) as new_users
    from signups
    group by signed_up_date
),

daily as (
    select
        calendar.period_start as date,
        coalesce(daily_deltas.dau, 0) as dau,
        coalesce(daily_deltas.wau_delta, 0) as wau_delta,
        coalesce(daily_deltas.mau_delta, 0) as mau_delta,
        coalesce(daily_signups.new_users, 0) as new_users
    from calendar
    left join daily_deltas
        on daily_deltas.delta_date = calendar.period_start
    left join daily_signups
        on daily_signups.signed_up_date = calendar.period_start
),

running as (
    select
        date,
        dau,
        sum(wau_delta) over (order by date rows between unbounded preceding and current row) as wau,
        sum(mau_delta) over (order by date rows between unbounded preceding and current row) as mau,
        new_users,
        sum(new_users) over (order by date rows between unbounded preceding and current row) as total_users
    from daily
),

final as (
    select
        date,
        cast(dau as bigint) as dau,
        cast(wau as bigint) as wau,
        cast(mau as bigint) as mau,
        {{ safe_ratio('dau', 'mau') }} as stickiness,
        cast(new_users as bigint) as new_users,
        cast(total_users as bigint) as total_users,
        {{ safe_ratio('mau', 'total_users') }} as active_pct_of_base
    from running
)

select * from final
