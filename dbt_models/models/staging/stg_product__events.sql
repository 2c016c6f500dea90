-- One row per product event (duplicates with the same content count once).
--
-- Incremental by slice (macros/incremental.sql): a run rebuilds the events that occurred
-- in its window of days and every event id that the run's ingestion batches touched,
-- however late it landed. Rows sharing an event id always fall in one slice (they have
-- the same content, or ingestion quarantined them all), so each is deduplicated against
-- all its copies.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ delete_slice(product_events_in_window('occurred_date')) }}",
            "{{ delete_slice(product_events_changed()) }}",
        ],
    )
}}

with

raw_events as (
    select * from {{ source('raw', 'product_events') }}
),

events as (
    select * from raw_events
    {% if is_incremental() and slice_is_bounded() -%}
    where {{ product_events_in_window(to_reporting_date('occurred_at'), 'occurred_at') }}
        or {{ product_events_changed() }}
    {%- endif %}
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
