-- int_funnel_progress follows at most `funnel_max_steps` steps, each with its own step_order:
-- fail (rather than silently drop steps) when seeds/funnel_steps.csv outgrows that.
{%- set max_steps = var('funnel_max_steps', 12) | int %}

with

funnel_steps as (
    select * from {{ ref('stg_reference__funnel_steps') }}
),

summary as (
    select
        count(*) as steps,
        count(distinct step_order) as step_orders
    from funnel_steps
)

select *
from summary
where steps > {{ max_steps }}
    or steps <> step_orders
