-- The as-of date that cuts every published series (docs/METRICS.md): the `as_of_date` var when
-- set; else the latest day on which any subscription event occurred (occurred_at, else
-- effective_at); with no subscription events, the latest day of any landed event or record
-- date (not fx_rates, not releases.planned_at).

with

subscription_days as (
    select max(occurred_date) as last_day from {{ ref('stg_billing__subscription_events') }}
),

other_days as (
    select max(d) as last_day
    from (
        {{ landed_days('max') }}
    ) as days
),

final as (
    select
        {% if run_param('as_of_date') %}
        cast('{{ run_param("as_of_date") }}' as date)
        {% else %}
        coalesce(subscription_days.last_day, other_days.last_day)
        {% endif %} as as_of_date
    from subscription_days
    cross join other_days
)

select * from final
