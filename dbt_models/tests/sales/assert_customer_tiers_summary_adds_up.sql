-- customer_tiers_summary is customer_tiers summed by tier: customers, revenue, churn.

{{ config(meta={'dagster': {'ref': {'name': 'customer_tiers_summary'}}}) }}

with

detail as (
    select
        tier,
        count(*) as customers,
        sum(revenue_t12m) as revenue,
        sum(churned_movements) as churned_customers,
        sum(churned_mrr) as churned_mrr
    from {{ ref('customer_tiers') }}
    group by tier
),

summary as (
    select * from {{ ref('customer_tiers_summary') }}
),

final as (
    select summary.tier
    from summary
    left join detail
        on detail.tier = summary.tier
    where summary.customers <> coalesce(detail.customers, 0)
        or abs(summary.revenue - coalesce(detail.revenue, 0)) >= 0.005
        or summary.churned_customers <> coalesce(detail.churned_customers, 0)
        or abs(summary.churned_mrr - coalesce(detail.churned_mrr, 0)) >= 0.005
)

select * from final
