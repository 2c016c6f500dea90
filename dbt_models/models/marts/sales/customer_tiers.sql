-- Customer tiers, Pareto (docs/METRICS.md, Revenue structure and sales). One row per customer
-- with recognised revenue (a paid invoice) in the trailing 12 months, or a churn movement in
-- them. The window is the as-of month and the 11 months before it, through as_of_date
-- (2025-01-01..2025-12-15 for an as-of date of 2025-12-15; macro
-- sales_trailing_window_start). Customers are ranked by window revenue, descending; equal
-- revenue gives an equal rank (revenue_rank = 1 + the customers with more revenue). A
-- customer is in tier A when the revenue of the customers ranked before it is
-- < tier_a_share of the total (the customer, or group of equal customers, that crosses the
-- line is in A), in B when it is < tier_a_share + tier_b_share, else in C (macro
-- sales_pareto_tier); equal revenue, equal tier. Churn: the customer's churn movements in
-- the same window (fct_mrr_movements), counted as movements.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

trailing_window as (
    select
        {{ sales_trailing_window_start('as_of.as_of_date') }} as window_start,
        as_of.as_of_date as window_end
    from as_of
    where as_of.as_of_date is not null
),

window_revenue as (
    select
        revenue.customer_id,
        sum(revenue.revenue) as revenue
    from revenue
    cross join trailing_window
    where revenue.issued_date >= trailing_window.window_start
        and revenue.issued_date <= trailing_window.window_end
    group by revenue.customer_id
),

window_churn as (
    select
        movements.customer_id,
        count(*) as churned_movements,
        sum({{ to_money('movements.amount') }}) as churned_mrr
    from movements
    cross join trailing_window
    where movements.movement_type = 'churn'
        and movements.movement_date >= trailing_window.window_start
        and movements.movement_date <= trailing_window.window_end
    group by movements.customer_id
),

population as (
    select customer_id from window_revenue
    union
    select customer_id from window_churn
),

with_revenue as (
    select
        population.customer_id,
        coalesce(window_revenue.revenue, {{ to_money('0') }}) as revenue,
        coalesce(window_churn.churned_movements, 0) as churned_movements,
        coalesce(window_churn.churned_mrr, {{ to_money('0') }}) as churned_mrr
    from population
    left join window_revenue
        on window_revenue.customer_id = population.customer_id
    left join window_churn
        on window_churn.customer_id = population.customer_id
),

-- Customers with equal revenue form one rank: revenue_before is the revenue of the customers
-- with more revenue, revenue_through adds the whole group of equals.
revenue_ranks as (
    select
        revenue,
        count(*) as customers,
        sum(revenue) as group_revenue
    from with_revenue
    group by revenue
),

ranked_revenues as (
    select
        revenue,
        coalesce(
            sum(customers) over (order by revenue desc rows between unbounded preceding and 1 preceding),
            0
        ) + 1 as revenue_rank,
        coalesce(
            sum(group_revenue) over (order by revenue desc rows between unbounded preceding and 1 preceding),
            {{ to_money('0') }}
        ) as revenue_before,
        sum(group_revenue) over (order by revenue desc rows between unbounded preceding and current row)
            as revenue_through,
        sum(group_revenue) over () as total_revenue
    from revenue_ranks
),

ranked as (
    select
        with_revenue.*,
        ranked_revenues.revenue_rank,
        ranked_revenues.revenue_before,
        ranked_revenues.revenue_through,
        ranked_revenues.total_revenue
    from with_revenue
    inner join ranked_revenues
        on ranked_revenues.revenue = with_revenue.revenue
),

final as (
    select
        ranked.customer_id,
        {{ sales_pareto_tier('ranked.revenue_before', 'ranked.total_revenue') }} as tier,
        cast(ranked.revenue_rank as bigint) as revenue_rank,
        {{ publish_money('ranked.revenue') }} as revenue_t12m,
        {{ safe_ratio('ranked.revenue', 'ranked.total_revenue') }} as share_of_revenue,
        {{ safe_ratio('ranked.revenue_before', 'ranked.total_revenue') }} as cumulative_share_before,
        {{ safe_ratio('ranked.revenue_through', 'ranked.total_revenue') }} as cumulative_share,
        cast(ranked.churned_movements as bigint) as churned_movements,
        {{ publish_money('ranked.churned_mrr') }} as churned_mrr,
        {{ customer_dimensions(columns=['segment', 'region']) }},
        trailing_window.window_start,
        trailing_window.window_end
    from ranked
    cross join trailing_window
    left join customers
        on customers.customer_id = ranked.customer_id
)

select * from final
