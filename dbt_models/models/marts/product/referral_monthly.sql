-- Referral (docs/METRICS.md, Usage): one row per month of product_usage_monthly. referral_rate =
-- distinct users who performed `referral_event` in the month / active users in the month
-- (both through as_of_date).

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

usage_monthly as (
    select * from {{ ref('product_usage_monthly') }}
),

events as (
    select * from {{ ref('stg_product__events') }}
),

referrals as (
    select
        {{ month_start('events.occurred_date') }} as month,
        count(distinct events.user_id) as referring_users
    from events
    cross join as_of
    where events.event_name = {{ sql_literal(var('referral_event')) }}
        and events.user_id is not null
        and events.occurred_date <= as_of.as_of_date
    group by {{ month_start('events.occurred_date') }}
),

final as (
    select
        usage_monthly.month,
        usage_monthly.active_users,
        cast(coalesce(referrals.referring_users, 0) as bigint) as referring_users,
        {{ safe_ratio('coalesce(referrals.referring_users, 0)', 'usage_monthly.active_users') }} as referral_rate
    from usage_monthly
    left join referrals
        on referrals.month = usage_monthly.month
)

select * from final
