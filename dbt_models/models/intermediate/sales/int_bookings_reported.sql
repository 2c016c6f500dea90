-- Bookings (signed contracts) booked on or before as_of_date: one row per booking, value in
-- the reporting currency at the booking date's rate, with its ACV (docs/METRICS.md, Unit
-- economics: total_contract_value x 12 / max(contract_months, 12)), contract length band
-- and quarter. A booking without a sales rep belongs to rep 'unknown'.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

bookings as (
    select * from {{ ref('stg_sales__bookings') }}
),

final as (
    select
        bookings.booking_id,
        bookings.customer_id,
        bookings.booked_date,
        bookings.booked_month,
        {{ quarter_start('bookings.booked_date') }} as booked_quarter,
        bookings.contract_months,
        {{ sales_contract_band('bookings.contract_months') }} as contract_band,
        {{ to_money('bookings.total_contract_value_reporting') }} as contract_value,
        cast(bookings.total_contract_value_reporting as double) * 12
            / cast(greatest(bookings.contract_months, 12) as double) as acv,
        coalesce(bookings.sales_rep_id, 'unknown') as sales_rep_id,
        coalesce(bookings.product, 'unknown') as product,
        coalesce(bookings.revenue_type, 'unknown') as revenue_type,
        coalesce(bookings.is_new_business, false) as is_new_business
    from bookings
    cross join as_of
    where bookings.booked_date <= as_of.as_of_date
)

select * from final
