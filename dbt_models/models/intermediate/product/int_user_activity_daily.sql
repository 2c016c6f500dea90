-- One row per user and day with at least one active event (METRICS.md, Usage): a product
-- event with a user_id whose event_name is not in `passive_events`. The day is the event's
-- occurred day in the reporting time zone, whichever file it landed in (late events count
-- on the day they happened). Users missing from `users` still count.
-- A plain per-day aggregation: it can be rebuilt for a window of days (incremental later).

with

events as (
    select * from {{ ref('stg_product__events') }}
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
