-- AARRR funnel per cohort month (docs/METRICS.md, Usage: Funnel): one row per month (continuous
-- from the first cohort month through the as-of month) and step of seeds/funnel_steps.csv.
-- Actors, cohort months and the in-order, in-window rule: int_funnel_progress.
-- step_conversion_rate = actors at this step / actors at the previous step (NULL at step 1);
-- overall_conversion_rate = actors at this step / actors at step 1.

with

progress as (
    select * from {{ ref('int_funnel_progress') }}
),

funnel_steps as (
    select * from {{ ref('stg_reference__funnel_steps') }}
),

months as (
    {{ months_through_as_of('(select min(cohort_month) from progress)') }}
),

step_counts as (
    select
        cohort_month,
        step_order,
        count(*) as users,
        sum(case when actor_type = 'anonymous' then 1 else 0 end) as anonymous_visitors
    from progress
    group by cohort_month, step_order
),

grid as (
    select
        months.period_start as month,
        funnel_steps.step_order,
        funnel_steps.step_name,
        cast(coalesce(step_counts.users, 0) as bigint) as users,
        cast(coalesce(step_counts.anonymous_visitors, 0) as bigint) as anonymous_visitors
    from months
    cross join funnel_steps
    left join step_counts
        on step_counts.cohort_month = months.period_start
        and step_counts.step_order = funnel_steps.step_order
),

with_previous as (
    select
        grid.*,
        lag(users) over (partition by month order by step_order) as previous_step_users,
        first_value(users) over (
            partition by month order by step_order
            rows between unbounded preceding and current row
        ) as first_step_users
    from grid
),

final as (
    select
        month,
        step_order,
        step_name,
        users,
        anonymous_visitors,
        {{ safe_ratio('users', 'previous_step_users') }} as step_conversion_rate,
        {{ safe_ratio('users', 'first_step_users') }} as overall_conversion_rate,
        step_order = min(step_order) over (partition by month) as is_first_step,
        step_order = max(step_order) over (partition by month) as is_last_step
    from with_previous
)

select * from final
