-- One row per subscription event, with money converted to the reporting currency at the
-- rate in force on the event's effective date (docs/METRICS.md: Subscription MRR).
-- `_file`, `_line` give the landing order (file path, then line), the last tie-break. (Not
-- a rank over all events: one unpartitioned sort of every event cost more than the rest of
-- this model at a million customers.)

with

events as (
    select * from {{ source('raw', 'subscription_events') }}
),

deduped as (
    {{ dedupe('events', ['event_id']) }}
),

dated as (
    select
        deduped.*,
        {{ to_reporting_date('effective_at') }} as effective_date,
        {{ to_reporting_date('coalesce(occurred_at, effective_at)') }} as occurred_date
    from deduped
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
        dated.currency,
        fx.rate_to_reporting as fx_rate,
        dated.unit_amount * fx.rate_to_reporting as unit_amount_reporting,
        dated.discount_amount * fx.rate_to_reporting as discount_amount_reporting,
        dated._file,
        dated._line
    from dated
    {{ fx_rate_join('dated', 'dated.effective_date', 'dated.currency') }}
)

select * from final
