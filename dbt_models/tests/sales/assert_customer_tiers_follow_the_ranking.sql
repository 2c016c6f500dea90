-- Tiers follow the revenue ranking: walking down the revenue, the tier never goes back
-- (A ... A, B ... B, C ... C), customers with equal revenue share a rank and a tier, a rank is
-- 1 + the number of customers with more revenue, and the first customer (if any revenue) is
-- in A.

with

tiers as (
    select * from {{ ref('customer_tiers') }}
),

ordered as (
    select
        tiers.*,
        lag(tier) over (order by revenue_t12m desc, tier) as previous_tier,
        rank() over (order by revenue_t12m desc) as expected_rank,
        min(tier) over (partition by revenue_t12m) as lowest_tier_of_equals,
        max(tier) over (partition by revenue_t12m) as highest_tier_of_equals
    from tiers
),

final as (
    select *
    from ordered
    where revenue_rank <> expected_rank
        or tier < previous_tier
        or lowest_tier_of_equals <> highest_tier_of_equals
        or (revenue_rank = 1 and revenue_t12m > 0 and tier <> 'A')
)

select * from final
