-- Customer acquisition cost per month and channel (docs/METRICS.md, Unit economics): spend of the
-- channel (all cost types and motions, reporting currency) / new customers whose
-- acquisition_channel is that channel. One row per month and channel with spend or new
-- customers, through as_of_date. cac is NULL without new customers.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

spend as (
    select * from {{ ref('stg_marketing__spend') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

channel_spend as (
    select
        spend.spend_month as month,
        spend.channel,
        sum(spend.amount_reporting) as spend,
        sum(case when spend.motion = 'new_business' then spend.amount_reporting else 0 end)
            as new_business_spend
    from spend
    cross join as_of
    where spend.spend_date <= as_of.as_of_date
    group by spend.spend_month, spend.channel
),

channel_new_customers as (
    select
        movements.movement_month as month,
        coalesce(customers.acquisition_channel, 'unknown') as channel,
        count(*) as new_customers
    from movements
    left join customers
        on customers.customer_id = movements.customer_id
    where movements.movement_type = 'new'
    group by 1, 2
),

grain as (
    select month, channel from channel_spend
    union
    select month, channel from channel_new_customers
),

final as (
    select
        grain.month,
        grain.channel,
        {{ publish_money('coalesce(channel_spend.spend, 0)') }} as spend,
        {{ publish_money('coalesce(channel_spend.new_business_spend, 0)') }} as new_business_spend,
        cast(coalesce(channel_new_customers.new_customers, 0) as bigint) as new_customers,
        {{ safe_ratio('coalesce(channel_spend.spend, 0)', 'channel_new_customers.new_customers') }} as cac
    from grain
    left join channel_spend
        on channel_spend.month = grain.month
        and channel_spend.channel = grain.channel
    left join channel_new_customers
        on channel_new_customers.month = grain.month
        and channel_new_customers.channel = grain.channel
)

select * from final
