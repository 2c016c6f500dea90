-- The months of the sales series: continuous from the first month with recognised revenue
-- or a booking through the month of as_of_date. `is_complete` is false for the as-of month
-- when as_of_date is not its last day (its figures are month-to-date).

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

bookings as (
    select * from {{ ref('int_bookings_reported') }}
),

first_months as (
    select min(issued_month) as first_month from revenue
    union all
    select min(booked_month) as first_month from bookings
),

bounds as (
    select
        (select min(first_month) from first_months) as start_month,
        {{ month_start('as_of.as_of_date') }} as end_month,
        as_of.as_of_date
    from as_of
),

months as (
    {{ calendar_spine('month', 'bounds.start_month', 'bounds.end_month', 'bounds') }}
),

final as (
    select
        months.period_start as month,
        {{ quarter_start('months.period_start') }} as quarter_start,
        {{ add_days(add_months('months.period_start', 1), -1) }} <= bounds.as_of_date as is_complete
    from months
    cross join bounds
)

select * from final
