-- Customer MRR change points: one row per customer and day on which any of its
-- subscriptions' end-of-day MRR changed, with the customer's MRR at the end of the day before
-- (mrr_before) and of that day (mrr_after), exact. The customer's MRR holds from mrr_date
-- until the day before next_mrr_date. Offsetting changes on one day give mrr_before =
-- mrr_after (no movement).

with

subscription_changes as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

customer_days as (
    select
        customer_id,
        mrr_date,
        {{ to_money('sum(mrr_change)') }} as mrr_change
    from subscription_changes
    group by customer_id, mrr_date
),

running as (
    select
        customer_id,
        mrr_date,
        mrr_change,
        {{ to_money(
            'sum(mrr_change) over (partition by customer_id order by mrr_date'
            ~ ' rows between unbounded preceding and current row)'
        ) }} as mrr_after
    from customer_days
),

final as (
    select
        customer_id,
        mrr_date,
        {{ to_money('mrr_after - mrr_change') }} as mrr_before,
        mrr_after,
        mrr_change,
        coalesce(
            lead(mrr_date) over (partition by customer_id order by mrr_date),
            {{ revenue_end_of_time() }}
        ) as next_mrr_date,
        coalesce(
            max(case when mrr_after > 0 then 1 else 0 end) over (
                partition by customer_id order by mrr_date
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) = 1 as was_active_before
    from running
)

select * from final
