-- One row per customer known by the as-of date (a CRM row created by then, or a subscription
-- event or invoice by then), with its current attributes ('unknown' when missing), its first
-- paid day (its new movement), MRR at the end of as_of_date, paid invoice revenue to date and
-- status: active (MRR > 0), churned (was active, MRR now 0), never_paid.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

crm as (
    select * from {{ ref('stg_crm__customers') }}
),

states as (
    select * from {{ ref('int_subscription_states') }}
),

change_points as (
    select * from {{ ref('int_customer_mrr_daily') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

paid_invoices as (
    select invoices.customer_id, invoices.amount_reporting
    from invoices
    cross join as_of
    where invoices.status = 'paid'
        and invoices.issued_date <= as_of.as_of_date
),

known_customers as (
    select crm.customer_id
    from crm
    cross join as_of
    where crm.created_date <= as_of.as_of_date
    union
    select customer_id from states
    union
    select customer_id from paid_invoices
),

current_mrr as (
    select customer_id, mrr_after as current_mrr
    from (
        select
            customer_id,
            mrr_after,
            row_number() over (partition by customer_id order by mrr_date desc) as recency
        from change_points
    ) as ranked
    where recency = 1
),

movement_dates as (
    select
        customer_id,
        min(case when movement_type = 'new' then movement_date end) as first_paid_date,
        max(case when movement_type = 'churn' then movement_date end) as last_churn_date
    from movements
    group by customer_id
),

lifetime as (
    select customer_id, sum(amount_reporting) as lifetime_revenue
    from paid_invoices
    group by customer_id
),

final as (
    select
        known_customers.customer_id,
        crm.customer_name,
        {{ customer_dimensions('crm', ['segment', 'region', 'country', 'acquisition_channel']) }},
        crm.sales_rep_id,
        crm.created_date,
        movement_dates.first_paid_date,
        {{ month_start('movement_dates.first_paid_date') }} as cohort_month,
        {{ publish_money('coalesce(current_mrr.current_mrr, 0)') }} as current_mrr,
        {{ publish_money('coalesce(lifetime.lifetime_revenue, 0)') }} as lifetime_revenue,
        {{ publish_money('coalesce(lifetime.lifetime_revenue, 0)') }}
            * {{ double_var('gross_margin') }} as observed_ltv,
        case
            when coalesce(current_mrr.current_mrr, 0) > 0 then 'active'
            when movement_dates.first_paid_date is not null then 'churned'
            else 'never_paid'
        end as status,
        case
            when coalesce(current_mrr.current_mrr, 0) = 0 and movement_dates.first_paid_date is not null
                then movement_dates.last_churn_date
        end as churned_date
    from known_customers
    left join crm
        on crm.customer_id = known_customers.customer_id
    left join current_mrr
        on current_mrr.customer_id = known_customers.customer_id
    left join movement_dates
        on movement_dates.customer_id = known_customers.customer_id
    left join lifetime
        on lifetime.customer_id = known_customers.customer_id
)

select * from final
