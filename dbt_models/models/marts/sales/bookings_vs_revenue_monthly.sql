-- Bookings beside revenue (docs/METRICS.md, Revenue structure and sales): per month, continuous
-- from the first month with a booking or recognised revenue through the as-of month, the
-- bookings signed (count, total contract value, new-business part, mean ACV) and the
-- revenue recognised (paid invoices issued in the month). book_to_bill_ratio = bookings
-- value / revenue (NULL without revenue).

with

months as (
    select * from {{ ref('int_sales_months') }}
),

bookings as (
    select * from {{ ref('int_bookings_reported') }}
),

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

monthly_bookings as (
    select
        booked_month as month,
        count(*) as bookings_count,
        sum(contract_value) as bookings_value,
        sum(case when is_new_business then contract_value else {{ to_money('0') }} end)
            as new_business_bookings_value,
        avg(acv) as acv
    from bookings
    group by booked_month
),

monthly_revenue as (
    select
        issued_month as month,
        sum(revenue) as revenue
    from revenue
    group by issued_month
),

final as (
    select
        months.month,
        cast(coalesce(monthly_bookings.bookings_count, 0) as bigint) as bookings_count,
        {{ publish_money('coalesce(monthly_bookings.bookings_value, 0)') }} as bookings_value,
        {{ publish_money('coalesce(monthly_bookings.new_business_bookings_value, 0)') }}
            as new_business_bookings_value,
        monthly_bookings.acv,
        {{ publish_money('coalesce(monthly_revenue.revenue, 0)') }} as revenue,
        {{ safe_ratio('coalesce(monthly_bookings.bookings_value, 0)', 'monthly_revenue.revenue') }}
            as book_to_bill_ratio,
        months.is_complete as is_complete_month
    from months
    left join monthly_bookings
        on monthly_bookings.month = months.month
    left join monthly_revenue
        on monthly_revenue.month = months.month
)

select * from final
