-- The plan catalogue (seeds/plans.csv).

with

plans as (
    select * from {{ ref('plans') }}
),

final as (
    select
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        plan_name,
        product,
        billing_period,
        unit_amount,
        upper(currency) as currency,
        tier
    from plans
)

select * from final
