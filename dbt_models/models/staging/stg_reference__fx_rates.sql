-- Exchange rates to the reporting currency (reporting units per one unit of `currency`),
-- each with the interval it is in force: a rate holds from its rate_date until the next
-- rate of the same currency. Ingestion resolves them (raw.fx_rates_to_reporting) from the
-- one rate table (landed fx_rates over seeds/fx_rates.csv), in whatever base it is, with
-- cross rates through that base; the reporting currency itself converts at 1.

with

rates as (
    select currency, rate_date, rate_to_reporting, base_currency
    from {{ source('raw', 'fx_rates_to_reporting') }}
),

final as (
    select
        currency,
        rate_date,
        rate_to_reporting,
        base_currency,
        rate_date as valid_from,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as valid_to
    from rates
)

select * from final
