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
        select max(occurred_date) as d from {{ ref('stg_product__events') }}
        union all select max(signed_up_date) from {{ ref('stg_product__users') }}
        union all select max(created_date) from {{ ref('stg_crm__customers') }}
        union all select max(issued_date) from {{ ref('stg_billing__invoices') }}
        union all select max(booked_date) from {{ ref('stg_sales__bookings') }}
        union all select max(spend_date) from {{ ref('stg_marketing__spend') }}
        union all select max(created_date) from {{ ref('stg_marketing__leads') }}
        union all select max(converted_date) from {{ ref('stg_marketing__leads') }}
        union all select max(responded_date) from {{ ref('stg_survey__responses') }}
        union all select max(released_date) from {{ ref('stg_product__releases') }}
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
