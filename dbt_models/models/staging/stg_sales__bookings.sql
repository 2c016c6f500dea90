-- One row per booking (signed contract), value converted at the rate in force on the booking date.

with

bookings as (
    {{ landed('bookings', ['booking_id']) }}
),

dated as (
    select bookings.*, {{ to_reporting_date('booked_at') }} as booked_date
    from bookings
),

final as (
    select
        dated.booking_id,
        dated.customer_id,
        dated.booked_at,
        dated.booked_date,
        {{ month_start('dated.booked_date') }} as booked_month,
        dated.contract_months,
        dated.total_contract_value,
        {{ reporting_amounts('dated', ['total_contract_value']) }},
        dated.sales_rep_id,
        coalesce(dated.product, 'unknown') as product,
        coalesce(dated.revenue_type, 'unknown') as revenue_type,
        dated.is_new_business,
        dated._file,
        dated._line
    from dated
    {{ fx_rate_join('dated', 'dated.booked_date', 'dated.currency') }}
)

select * from final
