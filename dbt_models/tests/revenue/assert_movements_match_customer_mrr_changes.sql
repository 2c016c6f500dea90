-- A movement exactly on the days where a customer's MRR changed, recomputed from the
-- subscription states by the definition: a subscription's MRR at the end of day d is that of
-- its state with the highest state_sequence among those with effective_date <= d (a running
-- maximum over its effective dates, not the model's last-of-day flag), and a customer's is
-- the sum over its subscriptions. For every day on which any of a customer's subscriptions
-- has a state, and for every movement day: a movement exists iff MRR(d) <> MRR(d - 1), and
-- then mrr_before = MRR(d - 1), mrr_after = MRR(d). Linear in the states: one sort of the
-- subscription-days (the MRR at the end of the day and at the end of the day before are two
-- frames of one window), one of the customer-days (MRR(d - 1) is MRR(d) less the day's
-- change: MRR only changes on the days listed), and a join with the movements. max_by (in
-- DuckDB and Spark) takes the MRR of the highest sequence without a join back to the states.

{{ config(meta={'dagster': {'ref': {'name': 'int_mrr_movements'}}}) }}

with

states as (
    select * from {{ ref('int_subscription_states') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

-- per subscription and day: the MRR of the day's highest state_sequence
subscription_days as (
    select
        subscription_id,
        customer_id,
        effective_date,
        max_by(mrr, state_sequence) as last_mrr,
        max(state_sequence) as last_sequence
    from states
    group by subscription_id, customer_id, effective_date
),

-- at the end of each such day and of the subscription's day before it: the MRR of the
-- highest state_sequence so far (one partition and order: one sort)
subscription_deltas as (
    select
        customer_id,
        effective_date as check_date,
        max_by(last_mrr, last_sequence) over (
            partition by subscription_id order by effective_date
            rows between unbounded preceding and current row
        ) - coalesce(max_by(last_mrr, last_sequence) over (
            partition by subscription_id order by effective_date
            rows between unbounded preceding and 1 preceding
        ), 0) as delta
    from subscription_days
),

customer_days as (
    select customer_id, check_date, sum(delta) as delta
    from (
        select customer_id, check_date, delta from subscription_deltas
        union all
        select customer_id, movement_date, 0 from movements
    ) stream
    group by customer_id, check_date
),

recomputed as (
    select
        customer_id,
        check_date,
        mrr_after - delta as mrr_before,
        mrr_after
    from (
        select
            customer_id,
            check_date,
            delta,
            sum(delta) over (
                partition by customer_id order by check_date
                rows between unbounded preceding and current row
            ) as mrr_after
        from customer_days
    ) running
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
