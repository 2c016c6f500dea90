-- One row per user and day with at least one active event (METRICS.md, Usage): a product
-- event with a user_id whose event_name is not in `passive_events`. The day is the event's
-- occurred day in the reporting time zone, whichever file it landed in (late events count
-- on the day they happened). Users missing from `users` still count.
--
-- Incremental by slice (macros/incremental.sql): a run rebuilds the user-days of its window
-- and every user-day an event touched by the run's ingestion batches belongs (or belonged)
-- to, from all of that user-day's events.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ delete_slice(slice_window_days('activity_date')) }}",
            "{{ delete_slice(user_days_touched('user_id', 'activity_date')) }}",
        ],
    )
}}

with

stg_events as (
    select * from {{ ref('stg_product__events') }}
),

events as (
    {% if is_incremental() and slice_is_bounded() -%}
    select * from stg_events where {{ slice_window_days('occurred_date') }}
    union all
    select * from stg_events
    where {{ user_days_touched('user_id', 'occurred_date') }}
        and not {{ slice_window_days('occurred_date') }}
    {%- else -%}
    select * from stg_events
    {%- endif %}
),

active_events as (
    select
        user_id,
        occurred_date
    from events
    where user_id is not null
        and {{ usage_is_active_event('event_name') }}
),

final as (
    select
        user_id,
        occurred_date as activity_date,
        count(*) as event_count
    from active_events
    group by user_id, occurred_date
)

select * from final
