-- One row per invoice, amount converted at the rate in force on the issue date.

with

invoices as (
    {{ landed('invoices', ['invoice_id']) }}
),

dated as (
    select invoices.*, {{ to_reporting_date('issued_at') }} as issued_date
    from invoices
),

final as (
    select
        dated.invoice_id,
        dated.customer_id,
        dated.issued_at,
        dated.issued_date,
        {{ month_start('dated.issued_date') }} as issued_month,
        dated.amount,
        {{ reporting_amounts('dated', ['amount']) }},
        dated.revenue_type,
        dated.status,
        coalesce(dated.product, 'unknown') as product,
        dated._file,
        dated._line
    from dated
    {{ fx_rate_join('dated', 'dated.issued_date', 'dated.currency') }}
)

select * from final
