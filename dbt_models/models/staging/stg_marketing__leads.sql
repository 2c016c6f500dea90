-- One row per lead.

with

leads as (
    {{ landed('leads', ['lead_id']) }}
),

final as (
    select
        lead_id,
        created_at,
        {{ to_reporting_date('created_at') }} as created_date,
        coalesce(channel, 'unknown') as channel,
        is_qualified,
        customer_id,
        converted_at,
        {{ to_reporting_date('converted_at') }} as converted_date,
        _file,
        _line
    from leads
)

select * from final
