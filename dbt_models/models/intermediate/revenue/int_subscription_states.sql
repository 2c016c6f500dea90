-- One row per subscription event in effect by the as-of date (effective_date <= as_of_date):
-- the subscription's whole state from that event on, and its MRR (docs/METRICS.md, Subscription
-- MRR at an instant t). Events are ordered per subscription by effective_at, ties broken by
-- the later occurred_at (else effective_at), then landing order; the last state of each day
-- (reporting time zone) is the subscription's state at the end of that day: the state whose
-- next state (in that order) falls on a later day, or that has none. Both windows share one
-- partition and order, so the events are sorted once.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

events as (
    select * from {{ ref('stg_billing__subscription_events') }}
),

in_scope as (
    select events.*
    from events
    cross join as_of
    where events.effective_date <= as_of.as_of_date
),

ordered as (
    select
        in_scope.*,
        row_number() over subscription_order as state_sequence,
        -- the same window (one sort): the next state's day
        lead(in_scope.effective_date) over subscription_order as next_effective_date,
        {{ revenue_subscription_mrr(
            'in_scope.event_type',
            'in_scope.unit_amount_reporting',
            'in_scope.quantity',
            'in_scope.discount_amount_reporting',
            'in_scope.billing_period_months'
        ) }} as mrr_double
    from in_scope
    window subscription_order as (
        partition by in_scope.subscription_id
        order by
            in_scope.effective_at,
            coalesce(in_scope.occurred_at, in_scope.effective_at),
            in_scope._file,
            in_scope._line
    )
),

final as (
    select
        ordered.subscription_id,
        ordered.state_sequence,
        ordered.event_id,
        ordered.customer_id,
        ordered.event_type,
        ordered.plan_id,
        ordered.effective_at,
        ordered.effective_date,
        ordered.occurred_at,
        ordered._file,
        ordered._line,
        ordered.billing_period_months,
        ordered.quantity,
        ordered.currency,
        ordered.fx_rate,
        ordered.unit_amount_reporting,
        ordered.discount_amount_reporting,
        {{ to_money('ordered.mrr_double') }} as mrr,
        coalesce(ordered.next_effective_date <> ordered.effective_date, true) as is_last_of_day,
        ordered.next_effective_date
    from ordered
)

select * from final
