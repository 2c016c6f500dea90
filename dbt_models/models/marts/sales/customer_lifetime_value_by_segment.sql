-- Observed customer lifetime value per segment (METRICS.md, Unit economics): per customer,
-- paid invoice revenue to date (issued through as_of_date) x gross_margin; per segment, the
-- mean over its customers with at least one paid invoice through as_of_date (customers who
-- never paid are left out: they have no observed value yet). Segment is the customer's
-- current attribute ('unknown' when missing).

with

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

per_customer as (
    select
        customer_id,
        segment,
        sum(revenue) as revenue_to_date
    from revenue
    group by customer_id, segment
),

per_segment as (
    select
        segment,
        count(*) as customers,
        sum(revenue_to_date) as revenue_to_date,
        avg(cast(revenue_to_date as double)) as mean_revenue_to_date
    from per_customer
    group by segment
),

final as (
    select
        segment,
        cast(customers as bigint) as customers,
        {{ sales_publish_money('revenue_to_date') }} as revenue_to_date,
        {{ sales_publish_money('revenue_to_date') }} * cast({{ var('gross_margin') | float }} as double)
            as observed_ltv_total,
        mean_revenue_to_date * cast({{ var('gross_margin') | float }} as double) as mean_observed_ltv
    from per_segment
)

select * from final
