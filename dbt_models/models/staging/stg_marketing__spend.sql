-- Sales and marketing spend. Rows have no id and are never deduplicated (docs/LANDING.md).

with

spend as (
    select * from {{ source('raw', 'marketing_spend') }}
),

final as (
    select
        spend.spend_date,
        {{ month_start('spend.spend_date') }} as spend_month,
        spend.channel,
        spend.amount,
        spend.currency,
        fx.rate_to_reporting as fx_rate,
        spend.amount * fx.rate_to_reporting as amount_reporting,
        spend.cost_type,
        spend.motion,
        spend._file,
        spend._line
    from spend
    {{ fx_rate_join('spend', 'spend.spend_date', 'spend.currency') }}
)

select * from final
