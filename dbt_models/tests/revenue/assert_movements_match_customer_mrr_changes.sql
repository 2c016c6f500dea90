-- A movement exactly on the days where a customer's MRR changed, recomputed independently
-- from the subscription states: customer MRR at the end of day d = sum over its
-- subscriptions of the MRR of their last state with effective_date <= d. For every day on
-- which any of a customer's subscriptions has an event, and for every movement day:
-- a movement exists iff MRR(d) <> MRR(d - 1), and then mrr_before = MRR(d - 1),
-- mrr_after = MRR(d). (Cost grows with events per customer squared: fine for a test.)

with

states as (
    select * from {{ ref('int_subscription_states') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

candidate_days as (
    select distinct customer_id, effective_date as check_date from states
    union
    select customer_id, movement_date from movements
),

instants as (
    select customer_id, check_date, check_date as day_end, 'after' as side from candidate_days
    union all
    select customer_id, check_date, {{ revenue_add_days('check_date', -1) }}, 'before' from candidate_days
),

latest_states as (
    select
        instants.customer_id,
        instants.check_date,
        instants.side,
        states.subscription_id,
        states.mrr,
        row_number() over (
            partition by instants.customer_id, instants.check_date, instants.side, states.subscription_id
            order by states.state_sequence desc
        ) as recency
    from instants
    inner join states
        on states.customer_id = instants.customer_id
        and states.effective_date <= instants.day_end
),

recomputed as (
    select
        candidate_days.customer_id,
        candidate_days.check_date,
        coalesce(sum(case when latest_states.side = 'before' then latest_states.mrr end), 0) as mrr_before,
        coalesce(sum(case when latest_states.side = 'after' then latest_states.mrr end), 0) as mrr_after
    from candidate_days
    left join latest_states
        on latest_states.customer_id = candidate_days.customer_id
        and latest_states.check_date = candidate_days.check_date
        and latest_states.recency = 1
    group by candidate_days.customer_id, candidate_days.check_date
),

failures as (
    select
        recomputed.customer_id,
        recomputed.check_date,
        recomputed.mrr_before as recomputed_mrr_before,
        recomputed.mrr_after as recomputed_mrr_after,
        movements.movement_type,
        movements.mrr_before,
        movements.mrr_after
    from recomputed
    left join movements
        on movements.customer_id = recomputed.customer_id
        and movements.movement_date = recomputed.check_date
    where (movements.customer_id is null and recomputed.mrr_before <> recomputed.mrr_after)
        or (movements.customer_id is not null and (
            recomputed.mrr_before = recomputed.mrr_after
            or movements.mrr_before <> recomputed.mrr_before
            or movements.mrr_after <> recomputed.mrr_after
        ))
)

select * from failures
