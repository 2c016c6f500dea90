-- The one calendar every series of days, weeks and months is cut from (macro
-- calendar_spine): one row per day from 7 days before the first month of the earliest date
-- in any source (and no later than 1990-01-01) through as_of_date, with the day's ISO week
-- (Monday start) and month. Empty when nothing has landed.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

first_days as (
    select min(d) as first_day
    from (
        {{ landed_days('min', extra=[
            ('stg_billing__subscription_events', 'occurred_date'),
            ('stg_billing__subscription_events', 'effective_date'),
            ('stg_product__releases', 'planned_date'),
        ]) }}
    ) as days
),

bounds as (
    select
        {{ add_days(month_start("least(first_days.first_day, cast('1990-01-01' as date))"), -7) }}
            as start_date,
        as_of.as_of_date as end_date
    from first_days
    cross join as_of
    where first_days.first_day is not null
),

days as (
    {{ day_series('bounds.start_date', 'bounds.end_date', 'bounds') }}
),

final as (
    select
        period_start as date,
        {{ usage_week_start('period_start') }} as week_start,
        {{ month_start('period_start') }} as month
    from days
)

select * from final
