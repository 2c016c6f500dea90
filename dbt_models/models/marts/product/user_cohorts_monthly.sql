-- User cohorts (docs/METRICS.md, Usage): one row per sign-up month (cohort) and month since
-- start, a full triangle through the as-of month, zero cells included. A cohort is the
-- users who signed up in that month (through as_of_date); active_users at k = cohort users
-- active at least once in month cohort_month + k (through as_of_date).

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

user_activity as (
    select * from {{ ref('int_user_activity_daily') }}
),

cohort_members as (
    select
        users.user_id,
        {{ month_start('users.signed_up_date') }} as cohort_month
    from users
    cross join as_of
    where users.signed_up_date <= as_of.as_of_date
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_users
    from cohort_members
    group by cohort_month
),

months as (
    {{ months_through_as_of('(select min(cohort_month) from cohorts)') }}
),

triangle as (
    select
        cohorts.cohort_month,
        cohorts.cohort_users,
        months.period_start as activity_month,
        {{ dbt.datediff('cohorts.cohort_month', 'months.period_start', 'month') }} as months_since_start
    from cohorts
    inner join months
        on months.period_start >= cohorts.cohort_month
),

active_months as (
    select distinct
        user_activity.user_id,
        {{ month_start('user_activity.activity_date') }} as activity_month
    from user_activity
    cross join as_of
    where user_activity.activity_date <= as_of.as_of_date
),

cohort_activity as (
    select
        cohort_members.cohort_month,
        active_months.activity_month,
        count(*) as active_users
    from cohort_members
    inner join active_months
        on active_months.user_id = cohort_members.user_id
        and active_months.activity_month >= cohort_members.cohort_month
    group by cohort_members.cohort_month, active_months.activity_month
),

final as (
    select
        triangle.cohort_month,
        cast(triangle.months_since_start as integer) as months_since_start,
        cast(triangle.cohort_users as bigint) as cohort_users,
        cast(coalesce(cohort_activity.active_users, 0) as bigint) as active_users,
        {{ safe_ratio('coalesce(cohort_activity.active_users, 0)', 'triangle.cohort_users') }} as user_retention
    from triangle
    left join cohort_activity
        on cohort_activity.cohort_month = triangle.cohort_month
        and cohort_activity.activity_month = triangle.activity_month
)

select * from final
