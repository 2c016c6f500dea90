-- Recognised revenue per customer segment and month (docs/METRICS.md, Revenue structure and
-- sales; the input of the buying trend). Continuous months per segment: every month from
-- the first month with recognised revenue through the as-of month x every segment with
-- recognised revenue, 0 when none. Segment is the customer's current attribute.

with

{{ recognised_revenue_imports() }}

segments as (
    select distinct segment from revenue
),

monthly as (
    select
        issued_month as month,
        segment,
        count(distinct customer_id) as paying_customers,
        sum(revenue) as revenue
    from revenue
    group by issued_month, segment
),

final as (
    select
        revenue_months.month,
        segments.segment,
        {{ publish_money('coalesce(monthly.revenue, 0)') }} as revenue,
        cast(coalesce(monthly.paying_customers, 0) as bigint) as paying_customers,
        revenue_months.is_complete as is_complete_month
    from revenue_months
    cross join segments
    left join monthly
        on monthly.month = revenue_months.month
        and monthly.segment = segments.segment
)

select * from final
