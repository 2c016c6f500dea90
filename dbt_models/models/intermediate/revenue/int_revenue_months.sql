-- The months of the revenue series: from the month of the earliest effective_at (events in
-- effect by the as-of date) through the as-of month, with the day whose end closes each
-- month (its last day, or as_of_date for the as-of month) and the day whose end opens it
-- (the day before the month).

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

states as (
    select * from {{ ref('int_subscription_states') }}
),

first_event as (
    select min(effective_date) as first_effective_date from states
),

bounds as (
    select
        {{ month_start('first_event.first_effective_date') }} as start_month,
        {{ month_start('as_of.as_of_date') }} as end_month,
        as_of.as_of_date
    from first_event
    cross join as_of
),

months as (
    {{ calendar_spine('month', 'bounds.start_month', 'bounds.end_month', 'bounds', column='month') }}
),

final as (
    select
        months.month,
        {{ add_days('months.month', -1) }} as opening_date,
        {{ period_closing_date('months.month', 1, 'bounds.as_of_date') }} as closing_date,
        months.month = bounds.end_month as is_as_of_month,
        {{ dbt.datediff('bounds.start_month', 'months.month', 'month') }} + 1 as month_number
    from months
    cross join bounds
)

select * from final
