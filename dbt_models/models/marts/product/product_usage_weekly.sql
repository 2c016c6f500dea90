-- One row per week (Monday to Sunday), continuous over the days of product_usage_daily
-- (first signup or event through as_of_date; the last week is cut at as_of_date).
-- docs/METRICS.md, Usage:
-- active users in the period (distinct), new users, new users as a share of the base at
-- the period's end, and base growth = new users / users signed up before the period.

with

usage_daily as (
    select * from {{ ref('product_usage_daily') }}
),

user_activity as (
    select * from {{ ref('int_user_activity_daily') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

daily_in_periods as (
    select
        {{ usage_period_start('week', 'date') }} as week_start,
        date,
        new_users,
        total_users
    from usage_daily
),

period_users as (
    select
        week_start,
        sum(new_users) as new_users,
        max(total_users) as total_users
    from daily_in_periods
    group by week_start
),

period_activity as (
    select
        {{ usage_period_start('week', 'user_activity.activity_date') }} as week_start,
        count(distinct user_activity.user_id) as active_users
    from user_activity
    cross join as_of
    where user_activity.activity_date <= as_of.as_of_date
    group by {{ usage_period_start('week', 'user_activity.activity_date') }}
),

final as (
    select
        period_users.week_start,
        cast(coalesce(period_activity.active_users, 0) as bigint) as active_users,
        cast(period_users.new_users as bigint) as new_users,
        cast(period_users.total_users - period_users.new_users as bigint) as users_at_start,
        cast(period_users.total_users as bigint) as total_users,
        {{ safe_ratio('period_users.new_users', 'period_users.total_users') }} as new_users_pct_of_base,
        {{ safe_ratio('period_users.new_users', 'period_users.total_users - period_users.new_users') }}
            as base_growth_pct,
        {{ safe_ratio('coalesce(period_activity.active_users, 0)', 'period_users.total_users') }}
            as active_pct_of_base
    from period_users
    left join period_activity
        on period_activity.week_start = period_users.week_start
)

select * from final
