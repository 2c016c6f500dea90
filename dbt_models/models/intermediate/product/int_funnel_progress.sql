-- One row per funnel actor and funnel step reached (docs/METRICS.md, Usage: Funnel), events cut
-- at as_of_date.
--
-- Actor: the user_id of an event; an event without one belongs to the user whose user_id
-- appeared on an event together with its anonymous_id (the earliest such event decides,
-- ties by user_id);
-- otherwise the anonymous visitor, counted by anonymous_id.
-- Cohort month: the user's sign-up month (users); for anonymous visitors and for users
-- missing from `users`, the month of their first event.
-- Steps (seeds/funnel_steps.csv, by step_order): the actor enters at its first event of
-- step 1; it reaches step k at its first step-k event at or after the time it reached
-- step k-1 and on a day (reporting time zone) at most `funnel_window_days` days after the
-- day it entered (macro usage_within_days, the same reading as activation). Taking the earliest
-- event at each step is the best possible choice, so an actor is counted at a step exactly
-- when it did the steps in order within the window. A skipped step stops the actor there.
{#- Only the steps the seed lists are followed (funnel_step_count), at most funnel_max_steps. #}
{%- set max_steps = funnel_step_count(ref('stg_reference__funnel_steps'),
                                      var('funnel_max_steps', 12) | int) %}
{%- set window_days = var('funnel_window_days') | int %}

with

steps as (
    select
        step_order,
        step_name,
        event_name,
        dense_rank() over (order by step_order) as step_rank
    from {{ ref('stg_reference__funnel_steps') }}
),

-- The events are read twice, each time reduced at once to what it needs (one row per id
-- pair; the events of steps 2 and later), instead of resolving every event's actor first:
-- that kept ~10 M resolved events in memory at M scale, and the actor of a group of events
-- with the same ids is the actor of each of them. An actor's entry (its first step-1
-- event) is the earliest of its id pairs' first step-1 events, so step 1, usually the
-- commonest event, is taken in the same pass as the id pairs.
id_pairs as (
    -- one row per (user_id, anonymous_id) seen, either or both NULL, with its first event
    -- and its first step-1 event
    select
        events.user_id,
        events.anonymous_id,
        min(events.occurred_at) as first_seen_at,
        min(events.occurred_date) as first_event_date,
        min(case when first_step.event_name is not null then events.occurred_at end)
            as entered_at,
        min(case when first_step.event_name is not null then events.occurred_date end)
            as entered_date
    from {{ ref('stg_product__events') }} as events
    left join (select distinct event_name from steps where step_rank = 1) as first_step
        on first_step.event_name = events.event_name
    where events.occurred_date <= (select as_of_date from {{ ref('int_as_of_date') }})
    group by events.user_id, events.anonymous_id
),

users as (
    select * from {{ ref('stg_product__users') }}
),

identity_links as (
    select
        anonymous_id,
        user_id,
        row_number() over (partition by anonymous_id order by first_seen_at, user_id) as link_rank
    from id_pairs
    where anonymous_id is not null
        and user_id is not null
),

anonymous_owners as (
    select anonymous_id, user_id
    from identity_links
    where link_rank = 1
),

actor_first_events as (
    select
        case
            when coalesce(id_pairs.user_id, anonymous_owners.user_id) is null then 'anonymous'
            else 'user'
        end as actor_type,
        coalesce(id_pairs.user_id, anonymous_owners.user_id, id_pairs.anonymous_id) as actor_id,
        min(id_pairs.first_event_date) as first_event_date,
        min(id_pairs.entered_at) as entered_at,
        min(id_pairs.entered_date) as entered_date
    from id_pairs
    left join anonymous_owners
        on anonymous_owners.anonymous_id = id_pairs.anonymous_id
    group by 1, 2
),

actors as (
    select
        actor_first_events.actor_type,
        actor_first_events.actor_id,
        case
            when users.user_id is not null then {{ month_start('users.signed_up_date') }}
            else {{ month_start('actor_first_events.first_event_date') }}
        end as cohort_month
    from actor_first_events
    left join users
        on actor_first_events.actor_type = 'user'
        and users.user_id = actor_first_events.actor_id
),

step_events as (
    -- the events of steps 2 and later, with their actors
    select
        case
            when coalesce(events.user_id, anonymous_owners.user_id) is null then 'anonymous'
            else 'user'
        end as actor_type,
        coalesce(events.user_id, anonymous_owners.user_id, events.anonymous_id) as actor_id,
        steps.step_rank,
        events.occurred_at,
        events.occurred_date
    from {{ ref('stg_product__events') }} as events
    inner join steps
        on steps.event_name = events.event_name
        and steps.step_rank > 1
    left join anonymous_owners
        on anonymous_owners.anonymous_id = events.anonymous_id
    where events.occurred_date <= (select as_of_date from {{ ref('int_as_of_date') }})
),

progress_1 as (
    select
        actor_type,
        actor_id,
        entered_at,
        entered_date,
        entered_at as reached_at_1
    from actor_first_events
    where entered_at is not null
),

{% for k in range(2, max_steps + 1) %}
progress_{{ k }} as (
    -- step {{ k }}: the first step-{{ k }} event at or after step {{ k - 1 }}, inside the window
    select
        previous.actor_type,
        previous.actor_id,
        previous.entered_at,
        previous.entered_date,
        {% for j in range(1, k) %}previous.reached_at_{{ j }},
        {% endfor %}min(step_events.occurred_at) as reached_at_{{ k }}
    from progress_{{ k - 1 }} as previous
    left join step_events
        on step_events.actor_type = previous.actor_type
        and step_events.actor_id = previous.actor_id
        and step_events.step_rank = {{ k }}
        and step_events.occurred_at >= previous.reached_at_{{ k - 1 }}
        and {{ usage_within_days('step_events.occurred_date', 'previous.entered_date', window_days) }}
    group by
        previous.actor_type,
        previous.actor_id,
        previous.entered_at,
        previous.entered_date{% for j in range(1, k) %},
        previous.reached_at_{{ j }}{% endfor %}
),

{% endfor %}
reached as (
    select
        progress.actor_type,
        progress.actor_id,
        progress.entered_at,
        step_ranks.step_rank,
        case step_ranks.step_rank
            {% for k in range(1, max_steps + 1) %}when {{ k }} then progress.reached_at_{{ k }}
            {% endfor %}
        end as reached_at
    from progress_{{ max_steps }} as progress
    cross join (select distinct step_rank from steps) as step_ranks
),

final as (
    select
        actors.cohort_month,
        steps.step_order,
        steps.step_name,
        reached.actor_type,
        reached.actor_id,
        reached.entered_at,
        reached.reached_at
    from reached
    inner join actors
        on actors.actor_type = reached.actor_type
        and actors.actor_id = reached.actor_id
    inner join steps
        on steps.step_rank = reached.step_rank
    where reached.reached_at is not null
)

select * from final
