-- New product revenue (docs/METRICS.md, Growth and delivery): one row per month, continuous from
-- the first month with a paid invoice through the as-of month. revenue = paid invoices
-- issued in the month (reporting currency); new_product_revenue = the part from products
-- whose first release (earliest released_at of any release naming the product, through
-- as_of_date) falls in the trailing 12 months: this month or the 11 before it. Invoices
-- and releases are matched on `product`; 'unknown' (no product) never matches.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

releases as (
    select * from {{ ref('stg_product__releases') }}
),

paid_invoices as (
    select
        invoices.issued_month as month,
        invoices.product,
        invoices.amount_reporting
    from invoices
    cross join as_of
    where invoices.status = 'paid'
        and invoices.issued_date <= as_of.as_of_date
),

product_first_releases as (
    select
        releases.product,
        {{ month_start('min(releases.released_date)') }} as first_release_month
    from releases
    cross join as_of
    where releases.released_at is not null
        and releases.released_date <= as_of.as_of_date
        and releases.product <> 'unknown'
    group by releases.product
),

classified as (
    select
        paid_invoices.month,
        paid_invoices.amount_reporting,
        case
            when product_first_releases.first_release_month <= paid_invoices.month
                and product_first_releases.first_release_month
                    > cast({{ dbt.dateadd('month', -12, 'paid_invoices.month') }} as date)
                then 1
            else 0
        end as is_new_product
    from paid_invoices
    left join product_first_releases
        on product_first_releases.product = paid_invoices.product
),

monthly as (
    select
        month,
        sum(amount_reporting) as revenue,
        sum(case when is_new_product = 1 then amount_reporting else 0 end) as new_product_revenue
    from classified
    group by month
),

final as (
    {{ monthly_series('monthly', ['revenue', 'new_product_revenue'], [
        (safe_ratio('coalesce(monthly.new_product_revenue, 0)', 'coalesce(monthly.revenue, 0)'),
         'new_product_revenue_share'),
    ], count_type=none) }}
)

select * from final
