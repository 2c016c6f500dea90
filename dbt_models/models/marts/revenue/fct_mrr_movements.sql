-- One row per daily MRR movement of a customer (docs/METRICS.md, Daily movement), with the
-- customer's current attributes. Money in the reporting currency, published as DOUBLE.

with

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

final as (
    select
        movements.customer_id,
        movements.movement_date,
        movements.movement_month,
        movements.movement_type,
        {{ publish_money('movements.amount') }} as amount,
        {{ publish_money('movements.mrr_change') }} as mrr_change,
        {{ publish_money('movements.mrr_before') }} as mrr_before,
        {{ publish_money('movements.mrr_after') }} as mrr_after,
        {{ customer_dimensions() }}
    from movements
    left join customers
        on customers.customer_id = movements.customer_id
)

select * from final
