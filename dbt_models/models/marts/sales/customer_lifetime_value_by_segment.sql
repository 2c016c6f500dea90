-- Observed customer lifetime value per segment (docs/METRICS.md, Unit economics): per customer,
-- paid invoice revenue to date (issued through as_of_date) x gross_margin, which is
-- dim_customers.observed_ltv; per segment, its mean over the segment's customers
-- (dim_customers: every customer known by the as-of date), a customer who has not paid yet
-- counting 0. mean_observed_ltv_paying is the mean over the customers with revenue only.
-- Segment is the customer's current attribute ('unknown' when missing).

with

customers as (
    select * from {{ ref('dim_customers') }}
),

per_segment as (
    select
        segment,
        count(*) as customers,
        sum(case when lifetime_revenue > 0 then 1 else 0 end) as paying_customers,
        sum({{ to_money('lifetime_revenue') }}) as revenue_to_date
    from customers
    group by segment
),

final as (
    select
        segment,
        cast(customers as bigint) as customers,
        cast(paying_customers as bigint) as paying_customers,
        {{ publish_money('revenue_to_date') }} as revenue_to_date,
        {{ publish_money('revenue_to_date') }} * cast({{ var('gross_margin') | float }} as double)
            as observed_ltv_total,
        {{ safe_ratio('revenue_to_date', 'customers') }} * cast({{ var('gross_margin') | float }} as double)
            as mean_observed_ltv,
        {{ safe_ratio('revenue_to_date', 'paying_customers') }} * cast({{ var('gross_margin') | float }} as double)
            as mean_observed_ltv_paying
    from per_segment
)

select * from final
