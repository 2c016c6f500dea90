-- Per Pareto tier (customer_tiers; docs/METRICS.md, Revenue structure and sales): customers,
-- share of customers, trailing-12-month revenue, share of revenue, churned customers and
-- churned MRR in the same window. Always three rows, A, B and C (0 when a tier is empty;
-- shares NULL when there is no customer or no revenue at all). churned_customers counts
-- churn movements (docs/METRICS.md, Counting); churned_distinct_customers counts customers.

with

tiers as (
    select * from {{ ref('customer_tiers') }}
),

tier_names as (
    select 'A' as tier
    union all select 'B' as tier
    union all select 'C' as tier
),

per_tier as (
    select
        tier,
        count(*) as customers,
        sum({{ to_money('revenue_t12m') }}) as revenue,
        sum(churned_movements) as churned_customers,
        sum(case when churned_movements > 0 then 1 else 0 end) as churned_distinct_customers,
        sum({{ to_money('churned_mrr') }}) as churned_mrr
    from tiers
    group by tier
),

filled as (
    select
        tier_names.tier,
        coalesce(per_tier.customers, 0) as customers,
        coalesce(per_tier.revenue, {{ to_money('0') }}) as revenue,
        coalesce(per_tier.churned_customers, 0) as churned_customers,
        coalesce(per_tier.churned_distinct_customers, 0) as churned_distinct_customers,
        coalesce(per_tier.churned_mrr, {{ to_money('0') }}) as churned_mrr
    from tier_names
    left join per_tier
        on per_tier.tier = tier_names.tier
),

with_totals as (
    select
        filled.*,
        sum(customers) over () as total_customers,
        sum(revenue) over () as total_revenue
    from filled
),

final as (
    select
        tier,
        cast(customers as bigint) as customers,
        {{ safe_ratio('customers', 'total_customers') }} as share_of_customers,
        {{ publish_money('revenue') }} as revenue,
        {{ safe_ratio('revenue', 'total_revenue') }} as share_of_revenue,
        cast(churned_customers as bigint) as churned_customers,
        cast(churned_distinct_customers as bigint) as churned_distinct_customers,
        {{ publish_money('churned_mrr') }} as churned_mrr
    from with_totals
)

select * from final
