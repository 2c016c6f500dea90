-- saas_metrics_monthly has one row per month of int_revenue_months, from the month of the
-- earliest effective_at (events in effect by the as-of date) through the as-of month.
-- (Refs only revenue models: a test also reading int_as_of_date or staging would be picked
-- by other teams' selections, with this mart unbuilt.)

{{ config(meta={'dagster': {'ref': {'name': 'saas_metrics_monthly'}}}) }}

with

metrics as (
    select * from {{ ref('saas_metrics_monthly') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

states as (
    select * from {{ ref('int_subscription_states') }}
),

expected_first as (
    select {{ month_start('min(effective_date)') }} as first_month from states
),

mismatched_months as (
    select
        coalesce(metrics.month, months.month) as month,
        case when metrics.month is null then 'missing month' else 'unexpected month' end as problem
    from metrics
    full outer join months
        on months.month = metrics.month
    where metrics.month is null or months.month is null
),

wrong_ends as (
    select
        cast(null as date) as month,
        'series does not start at the earliest effective month or end at the as-of month' as problem
    from expected_first
    where expected_first.first_month is distinct from (select min(month) from months)
        or (select count(*) from months where is_as_of_month) <> case when expected_first.first_month is null then 0 else 1 end
        or (select max(month) from months) is distinct from (select max(month) from months where is_as_of_month)
),

failures as (
    select * from mismatched_months
    union all
    select * from wrong_ends
)

select * from failures
