-- Recognised revenue (docs/METRICS.md, Revenue structure and sales): one row per paid invoice
-- issued on or before as_of_date, in the month issued, in the reporting currency, with the
-- customer's current attributes ('unknown' when missing or when the customer never landed).

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

recognised as (
    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.issued_date,
        invoices.issued_month,
        {{ quarter_start('invoices.issued_date') }} as issued_quarter,
        coalesce(invoices.revenue_type, 'subscription') as revenue_type,
        coalesce(invoices.product, 'unknown') as product,
        {{ to_money('invoices.amount_reporting') }} as revenue
    from invoices
    cross join as_of
    where invoices.status = 'paid'
        and invoices.issued_date <= as_of.as_of_date
),

final as (
    select
        recognised.*,
        {{ customer_dimensions(columns=['segment', 'region']) }}
    from recognised
    left join customers
        on customers.customer_id = recognised.customer_id
)

select * from final
