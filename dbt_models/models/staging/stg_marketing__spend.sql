-- Sales and marketing spend. Rows have no id and are never deduplicated (docs/LANDING.md).

with

spend as (
    {{ landed('marketing_spend') }}
),

final as (
    select
        spend.spend_date,
        {{ month_start('spend.spend_date') }} as spend_month,
        spend.channel,
        spend.amount,
        {{ reporting_amounts('spend', ['amount']) }},
        spend.cost_type,
        spend.motion,
        spend._file,
        spend._line
    from spend
    {{ fx_rate_join('spend', 'spend.spend_date', 'spend.currency') }}
)

select * from final
