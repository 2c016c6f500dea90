-- Exchange rates, reporting units per one unit of `currency`, with the interval each is in
-- force: a rate holds from its rate_date until the next rate of the same currency.
-- Landed rows (raw.fx_rates) win over seeds/fx_rates.csv on the same rate_date and currency.

with

seed_rates as (
    select rate_date, upper(currency) as currency, rate_to_reporting, 2 as priority
    from {{ ref('fx_rates') }}
),

landed_rates as (
    select rate_date, currency, rate_to_reporting, 1 as priority
    from {{ source('raw', 'fx_rates') }}
),

unioned as (
    select * from landed_rates
    union all
    select * from seed_rates
),

deduped as (
    {{ dedupe('unioned', ['rate_date', 'currency'], 'priority') }}
),

with_validity as (
    select
        currency,
        rate_date,
        rate_to_reporting,
        rate_date as valid_from,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as valid_to
    from deduped
    where currency <> '{{ var("reporting_currency") }}'
),

reporting_currency as (
    select
        '{{ var("reporting_currency") }}' as currency,
        cast('1900-01-01' as date) as rate_date,
        cast(1.0 as double) as rate_to_reporting,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to
),

final as (
    select currency, rate_date, rate_to_reporting, valid_from, valid_to from with_validity
    union all
    select currency, rate_date, rate_to_reporting, valid_from, valid_to from reporting_currency
)

select * from final
