-- Daily MRR movements (docs/METRICS.md, Daily movement): one row per customer and day on which
-- its MRR changed (p = end of the day before, c = end of the day), typed new, expansion,
-- contraction, churn or reactivation. Amounts are exact and positive.

with

customer_days as (
    select * from {{ ref('int_customer_mrr_daily') }}
),

classified as (
    select
        customer_id,
        mrr_date as movement_date,
        {{ month_start('mrr_date') }} as movement_month,
        {{ revenue_movement_type('mrr_before', 'mrr_after', 'was_active_before') }} as movement_type,
        mrr_before,
        mrr_after,
        mrr_change
    from customer_days
    where mrr_after <> mrr_before
),

final as (
    select
        customer_id,
        movement_date,
        movement_month,
        movement_type,
        {{ to_money('abs(mrr_change)') }} as amount,
        mrr_change,
        mrr_before,
        mrr_after
    from classified
)

select * from final
