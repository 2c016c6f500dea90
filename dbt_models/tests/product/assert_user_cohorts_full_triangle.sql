-- user_cohorts_monthly is a full triangle: every cohort has one row for each month from
-- its cohort month (months_since_start 0) through the as-of month (int_as_of_date's), no
-- gap, none after it.

{{ config(meta={'dagster': {'ref': {'name': 'user_cohorts_monthly'}}}) }}

with

cohorts as (
    select * from {{ ref('user_cohorts_monthly') }}
),

last_month as (
    select cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as last_month
    from {{ ref('int_as_of_date') }}
),

per_cohort as (
    select
        cohort_month,
        count(*) as cells,
        min(months_since_start) as first_k,
        max(months_since_start) as last_k
    from cohorts
    group by cohort_month
),

failures as (
    select per_cohort.*, last_month.last_month
    from per_cohort
    cross join last_month
    where per_cohort.first_k <> 0
        or per_cohort.cells <> per_cohort.last_k + 1
        or per_cohort.last_k <> {{ dbt.datediff('per_cohort.cohort_month', 'last_month.last_month', 'month') }}
)

select * from failures
