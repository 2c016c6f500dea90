-- MRR by plan (docs/METRICS.md, MRR by plan): one row per month of the revenue series
-- (int_revenue_months) and plan with MRR at the end of at least one of them, 0 in the
-- others. A subscription counts under the plan of its state at the month's closing instant
-- (the end of its last day, or of as_of_date), with that state's MRR; summed over the plans
-- it is the company's MRR at the month's end (saas_metrics_monthly.mrr_end). A state
-- without a plan counts under 'unknown'; the plan's name, tier and product come from the
-- plans seed ('unknown' for a plan it does not list).
--
-- Each end-of-day state holds from its day until the next state's day, so it is the
-- subscription's state at the closing instants of the months first_number .. last_number
-- (as in int_customer_mrr_spans). It adds its MRR to its plan from first_number on and
-- takes it back after last_number: a running sum over the months gives each plan's MRR,
-- linear in the states rather than in subscription-months.

with

months as (select * from {{ ref('int_revenue_months') }}),
states as (select * from {{ ref('int_subscription_states') }}),
plans as (select * from {{ ref('stg_reference__plans') }}),

grid as (
    select min(month) as first_month, count(*) as month_count
    from months
),

-- a day's last state holds until the next day with a state (its next_effective_date)
spans as (
    select
        coalesce(states.plan_id, 'unknown') as plan_id,
        states.mrr,
        {{ revenue_month_span('states.effective_date', 'states.next_effective_date') }}
    from states
    cross join grid
    where states.is_last_of_day and states.mrr > 0
),

held as (
    select * from spans where last_number >= first_number
),

changes as (
    select plan_id, month_number, sum(mrr) as mrr_change, sum(subscriptions) as subscriptions_change
    from (
        select plan_id, first_number as month_number, mrr, 1 as subscriptions from held
        union all
        select plan_id, last_number + 1 as month_number, -mrr, -1 as subscriptions from held
    ) as steps
    group by plan_id, month_number
),

running as (
    {{ running_month_levels(
        'changes', ['plan_id'],
        {'mrr_end': 'mrr_change', 'active_subscriptions': 'subscriptions_change'}) }}
),

final as (
    select
        running.month,
        running.plan_id,
        coalesce(plans.plan_name, 'unknown') as plan_name,
        coalesce(plans.tier, 'unknown') as tier,
        coalesce(plans.product, 'unknown') as product,
        {{ publish_money('running.mrr_end') }} as mrr_end,
        cast(running.active_subscriptions as bigint) as active_subscriptions
    from running
    left join plans
        on plans.plan_id = running.plan_id
)

select * from final
