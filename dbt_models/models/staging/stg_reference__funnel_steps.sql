-- Ordered funnel steps, each an event name (seeds/funnel_steps.csv).

with

steps as (
    select * from {{ ref('funnel_steps') }}
),

final as (
    select cast(step_order as integer) as step_order, step_name, event_name from steps
)

select * from final
