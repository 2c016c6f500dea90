-- One row per product event (duplicates with the same content count once).
--
-- Incremental by day (macros/incremental.sql): a run rebuilds every event of its slice's
-- days (its window, and the days on which the events of its new files occurred, however
-- late they landed). Copies of an event id share its day (same content, or ingestion
-- quarantined them all), so each is deduplicated against all its copies.
{{ config(**incremental_by_day_config('occurred_date', ['event_id'])) }}

with

raw_events as (
    select * from {{ source('raw', 'product_events') }}
),

events as (
    select * from raw_events
    {% if is_incremental() and slice_is_bounded() -%}
    where {{ slice_utc_prefilter('occurred_at') }}
        and {{ slice_days_predicate(to_reporting_date('occurred_at')) }}
    {%- endif %}
),

-- A bounded slice is small: dedupe it. Otherwise (every event) ask the raw table first
-- whether any event id repeats (macro dedupe).
deduped as (
    {{ dedupe('events', ['event_id'], unique_unless=(
        none if is_incremental() and slice_is_bounded() else source('raw', 'product_events'))) }}
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
