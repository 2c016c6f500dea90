-- One row per subscription event, with money converted to the reporting currency at the
-- rate in force on the event's effective date (docs/METRICS.md: Subscription MRR).
-- `_file`, `_line` give the landing order (file path, then line), the last tie-break. (Not
-- a rank over all events: one unpartitioned sort of every event cost more than the rest of
-- this model at a million customers.)

with

events as (
    {{ landed('subscription_events', ['event_id']) }}
),

dated as (
    select
        events.*,
        {{ to_reporting_date('effective_at') }} as effective_date,
        {{ to_reporting_date('coalesce(occurred_at, effective_at)') }} as occurred_date
    from events
),

final as (
    select
        dated.event_id,
        dated.subscription_id,
        dated.customer_id,
        dated.event_type,
        dated.effective_at,
        dated.effective_date,
        dated.occurred_at,
        dated.occurred_date,
        dated.plan_id,
        dated.billing_period,
        case dated.billing_period when 'quarter' then 3 when 'year' then 12 else 1 end
            as billing_period_months,
        dated.unit_amount,
        dated.quantity,
        dated.discount_amount,
        {{ reporting_amounts('dated', ['unit_amount', 'discount_amount']) }},
        dated._file,
        dated._line
    from dated
    {{ fx_rate_join('dated', 'dated.effective_date', 'dated.currency') }}
)

select * from final
