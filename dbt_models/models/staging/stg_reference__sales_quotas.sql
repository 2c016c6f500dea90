-- Quarterly quota per sales rep (seeds/sales_quotas.csv), in the reporting currency.

with

quotas as (
    select * from {{ ref('sales_quotas') }}
),

final as (
    select
        sales_rep_id,
        cast(quarter_start as date) as quarter_start,
        cast(quota_amount as double) as quota_amount
    from quotas
)

select * from final
