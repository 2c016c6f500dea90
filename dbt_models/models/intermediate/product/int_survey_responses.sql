-- One row per survey response (nps, csat, ...) up to the as-of date, with its month and the
-- segment it counts for (docs/METRICS.md, Satisfaction): that of the response's customer_id,
-- else of its user's customer (users), else 'unknown' (also for a customer missing from
-- customers). The satisfaction marts count these rows.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

final as (
    select
        responses.response_id,
        responses.survey,
        {{ month_start('responses.responded_date') }} as month,
        responses.score,
        {{ customer_dimensions(columns=['segment']) }}
    from responses
    cross join as_of
    left join users
        on users.user_id = responses.user_id
    left join customers
        on customers.customer_id = coalesce(responses.customer_id, users.customer_id)
    where responses.responded_date <= as_of.as_of_date
)

select * from final
