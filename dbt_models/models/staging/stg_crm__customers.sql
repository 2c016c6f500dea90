-- One row per customer: its last landed row gives the current attributes (docs/LANDING.md).
-- A missing attribute is 'unknown' (docs/METRICS.md, Dimensions).

with

customers as (
    {{ landed('customers', ['customer_id'], '_file desc, _line desc') }}
),

final as (
    select
        customer_id,
        created_at,
        {{ to_reporting_date('created_at') }} as created_date,
        name as customer_name,
        coalesce(segment, 'unknown') as segment,
        coalesce(region, 'unknown') as region,
        coalesce(country, 'unknown') as country,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        sales_rep_id,
        _file,
        _line
    from customers
)

select * from final
