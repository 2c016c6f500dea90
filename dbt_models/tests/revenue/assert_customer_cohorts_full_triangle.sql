-- customer_cohorts_monthly is a full triangle: every cohort has one row for each month from
-- its cohort month (k = 0) through the as-of month (the last month of int_revenue_months),
-- no gap; and no cohort counts more active customers than it started with.

{{ config(meta={'dagster': {'ref': {'name': 'customer_cohorts_monthly'}}}) }}

with

cohorts as (
    select * from {{ ref('customer_cohorts_monthly') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

last_month as (
    select max(month) as last_month from months
),

per_cohort as (
    select
        cohort_month,
        count(*) as cells,
        min(months_since_start) as first_k,
        max(months_since_start) as last_k,
        max(case when active_customers > cohort_customers then 1 else 0 end) as overcounted
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
        or per_cohort.overcounted = 1
)

select * from failures
