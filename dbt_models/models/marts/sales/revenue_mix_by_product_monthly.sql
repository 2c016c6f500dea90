-- Revenue mix by product (docs/METRICS.md, Revenue structure and sales): recognised revenue per
-- month, product and revenue_type. `share` is the type's share of the product's revenue in
-- the month (it adds up to 1 per month and product); `share_of_month_revenue` its share of
-- the whole month's revenue (adds up to 1 per month). A full grid: every month from the
-- first month with recognised revenue through the as-of month x every product x every
-- revenue_type ever recognised, 0 when none; a share is NULL when its total is 0.
-- Product is the invoice's product ('unknown' when missing).

with

months as (
    select * from {{ ref('int_sales_months') }}
),

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

revenue_months as (
    select months.*
    from months
    where months.month >= (select min(issued_month) from revenue)
),

products as (
    select distinct product from revenue
),

revenue_types as (
    select distinct revenue_type from revenue
),

monthly as (
    select
        issued_month as month,
        product,
        revenue_type,
        count(*) as invoices,
        sum(revenue) as revenue
    from revenue
    group by issued_month, product, revenue_type
),

grid as (
    select
        revenue_months.month,
        revenue_months.is_complete,
        products.product,
        revenue_types.revenue_type,
        coalesce(monthly.invoices, 0) as invoices,
        coalesce(monthly.revenue, {{ to_money('0') }}) as revenue
    from revenue_months
    cross join products
    cross join revenue_types
    left join monthly
        on monthly.month = revenue_months.month
        and monthly.product = products.product
        and monthly.revenue_type = revenue_types.revenue_type
),

with_totals as (
    select
        grid.*,
        sum(revenue) over (partition by month, product) as product_revenue,
        sum(revenue) over (partition by month) as month_revenue
    from grid
),

final as (
    select
        month,
        product,
        revenue_type,
        {{ publish_money('revenue') }} as revenue,
        {{ safe_ratio('revenue', 'product_revenue') }} as share,
        {{ safe_ratio('revenue', 'month_revenue') }} as share_of_month_revenue,
        cast(invoices as bigint) as invoices,
        {{ publish_money('product_revenue') }} as product_revenue,
        is_complete as is_complete_month
    from with_totals
)

select * from final
