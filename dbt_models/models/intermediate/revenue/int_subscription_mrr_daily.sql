-- End-of-day subscription MRR change points: one row per subscription and day (reporting
-- time zone) whose end-of-day MRR differs from the previous day's end. The end-of-day state
-- is the last state of the day, so a subscription created and canceled within one day makes
-- no row. Event-driven: the rows grow with the subscription events, not with days.

with

states as (
    select * from {{ ref('int_subscription_states') }}
),

day_ends as (
    select
        subscription_id,
        customer_id,
        effective_date as mrr_date,
        mrr
    from states
    where is_last_of_day
),

with_previous as (
    select
        day_ends.*,
        coalesce(
            lag(day_ends.mrr) over (partition by day_ends.subscription_id order by day_ends.mrr_date),
            {{ to_money('0') }}
        ) as previous_mrr
    from day_ends
),

final as (
    select
        subscription_id,
        customer_id,
        mrr_date,
        previous_mrr as mrr_before,
        mrr as mrr_after,
        {{ to_money('mrr - previous_mrr') }} as mrr_change
    from with_previous
    where mrr <> previous_mrr
)

select * from final
