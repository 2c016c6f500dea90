-- One row per user and day with at least one active event (docs/METRICS.md, Usage): a product
-- event with a user_id whose event_name is not in `passive_events`. The day is the event's
-- occurred day in the reporting time zone, whichever file it landed in (late events count
-- on the day they happened). Users missing from `users` still count.
--
-- Incremental by day (macros/incremental.sql): a run rebuilds the user-days of its slice's
-- days (its window, and the days on which the events of its new files occurred) from all
-- of those days' events.
{{ config(**incremental_by_day_config('activity_date', ['user_id', 'activity_date'])) }}

with

stg_events as (
    select * from {{ ref('stg_product__events') }}
),

events as (
    select * from stg_events
    {% if is_incremental() and slice_is_bounded() -%}
    where {{ slice_days_predicate('occurred_date') }}
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
