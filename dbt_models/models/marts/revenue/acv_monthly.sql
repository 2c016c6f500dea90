-- Bookings and annual contract value per month (docs/METRICS.md, Unit economics): ACV of a
-- booking = total_contract_value x 12 / max(contract_months, 12) (reporting currency at the
-- booking date's rate); acv = the mean ACV of the month's bookings. A continuous series from
-- the first booking month through the as-of month; a month without bookings has 0 bookings
-- and acv NULL.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

bookings as (
    select * from {{ ref('stg_sales__bookings') }}
),

in_scope as (
    select
        bookings.booked_month as month,
        bookings.total_contract_value_reporting,
        bookings.total_contract_value_reporting * 12
            / (case when bookings.contract_months > 12 then bookings.contract_months else 12 end)
            as booking_acv
    from bookings
    cross join as_of
    where bookings.booked_date <= as_of.as_of_date
),

months as (
    {{ months_through_as_of('(select min(month) from in_scope)', column='month') }}
),

monthly as (
    select
        month,
        count(*) as bookings,
        sum(total_contract_value_reporting) as total_contract_value,
        sum(booking_acv) as annual_contract_value,
        avg(booking_acv) as acv
    from in_scope
    group by month
),

final as (
    select
        months.month,
        cast(coalesce(monthly.bookings, 0) as bigint) as bookings,
        {{ publish_money('coalesce(monthly.total_contract_value, 0)') }} as total_contract_value,
        {{ publish_money('monthly.acv') }} as acv,
        {{ publish_money('coalesce(monthly.annual_contract_value, 0)') }} as annual_contract_value
    from months
    left join monthly
        on monthly.month = months.month
)

select * from final
