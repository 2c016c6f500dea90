-- user_cohorts_monthly is a full triangle: every cohort has one row for each month from
-- its cohort month (months_since_start 0) through the last month of the table (the as-of
-- month), no gap. (Not tied to int_as_of_date: see usage_continuous_periods.)

with

cohorts as (
    select * from {{ ref('user_cohorts_monthly') }}
),

last_month as (
    select max(cast({{ dbt.dateadd('month', 'months_since_start', 'cohort_month') }} as date)) as last_month
    from cohorts
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
