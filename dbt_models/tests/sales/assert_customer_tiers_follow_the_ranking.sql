-- Tiers follow the revenue ranking: walking down revenue_rank, the tier never goes back
-- (A ... A, B ... B, C ... C), ranks run 1..n, and the first customer (if any revenue) is in A.

with

tiers as (
    select * from {{ ref('customer_tiers') }}
),

ordered as (
    select
        tiers.*,
        lag(tier) over (order by revenue_rank) as previous_tier,
        row_number() over (order by revenue_rank) as expected_rank
    from tiers
),

final as (
    select *
    from ordered
    where revenue_rank <> expected_rank
        or tier < previous_tier
        or (revenue_rank = 1 and revenue_t12m > 0 and tier <> 'A')
)

select * from final
