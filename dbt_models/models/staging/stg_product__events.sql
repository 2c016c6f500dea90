-- One row per product event (duplicates with the same content count once).

with

events as (
    select * from {{ source('raw', 'product_events') }}
),

deduped as (
    {{ dedupe('events', ['event_id']) }}
),

final as (
    select
        event_id,
        event_name,
        occurred_at,
        {{ to_reporting_date('occurred_at') }} as occurred_date,
        user_id,
        anonymous_id,
        properties,
        _file,
        _line,
        _ingested_at
    from deduped
)

select * from final
