-- Revenue mix, the customer money wheel (docs/METRICS.md, Revenue structure and sales): recognised
-- revenue (paid invoices, month issued) per month and revenue_type, with the type's share of
-- the month's revenue. A full grid: every month from the first month with recognised revenue
-- through the as-of month x every revenue_type ever recognised, 0 when none; share is NULL
-- in a month whose revenue is 0.

with

{{ recognised_revenue_imports() }}

revenue_types as (
    select distinct revenue_type from revenue
),

monthly as (
    select
        issued_month as month,
        revenue_type,
        count(*) as invoices,
        sum(revenue) as revenue
    from revenue
    group by issued_month, revenue_type
),

grid as (
    select
        revenue_months.month,
        revenue_months.is_complete,
        revenue_types.revenue_type,
        coalesce(monthly.invoices, 0) as invoices,
        coalesce(monthly.revenue, {{ to_money('0') }}) as revenue
    from revenue_months
    cross join revenue_types
    left join monthly
        on monthly.month = revenue_months.month
        and monthly.revenue_type = revenue_types.revenue_type
),

with_totals as (
    select
        grid.*,
        sum(revenue) over (partition by month) as month_revenue
    from grid
),

final as (
    select
        month,
        revenue_type,
        {{ publish_money('revenue') }} as revenue,
        {{ safe_ratio('revenue', 'month_revenue') }} as share,
        cast(invoices as bigint) as invoices,
        {{ publish_money('month_revenue') }} as month_revenue,
        is_complete as is_complete_month
    from with_totals
)

select * from final
