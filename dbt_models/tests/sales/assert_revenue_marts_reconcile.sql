-- The revenue marts tell one story: per month, the revenue of revenue_mix_monthly, of each
-- mix by region and by product, and of revenue_by_segment_monthly equals the revenue of
-- bookings_vs_revenue_monthly (to the cent).

{{ config(meta={'dagster': {'ref': {'name': 'revenue_mix_monthly'}}}) }}

with

reference as (
    select month, revenue from {{ ref('bookings_vs_revenue_monthly') }}
),

candidates as (
    select 'revenue_mix_monthly' as model, month, sum(revenue) as revenue
    from {{ ref('revenue_mix_monthly') }} group by month
    union all
    select 'revenue_mix_by_region_monthly' as model, month, sum(revenue) as revenue
    from {{ ref('revenue_mix_by_region_monthly') }} group by month
    union all
    select 'revenue_mix_by_product_monthly' as model, month, sum(revenue) as revenue
    from {{ ref('revenue_mix_by_product_monthly') }} group by month
    union all
    select 'revenue_by_segment_monthly' as model, month, sum(revenue) as revenue
    from {{ ref('revenue_by_segment_monthly') }} group by month
),

final as (
    select candidates.model, candidates.month, candidates.revenue, reference.revenue as expected
    from candidates
    left join reference
        on reference.month = candidates.month
    where not coalesce(abs(candidates.revenue - reference.revenue) < 0.005, false)
)

select * from final
