-- One row per invoice, amount converted at the rate in force on the issue date.

with

invoices as (
    select * from {{ source('raw', 'invoices') }}
),

deduped as (
    {{ dedupe('invoices', ['invoice_id']) }}
),

dated as (
    select deduped.*, {{ to_reporting_date('issued_at') }} as issued_date
    from deduped
),

final as (
    select
        dated.invoice_id,
        dated.customer_id,
        dated.issued_at,
        dated.issued_date,
        {{ month_start('dated.issued_date') }} as issued_month,
        dated.amount,
        dated.currency,
        fx.rate_to_reporting as fx_rate,
        dated.amount * fx.rate_to_reporting as amount_reporting,
        dated.revenue_type,
        dated.status,
        coalesce(dated.product, 'unknown') as product,
        dated._file,
        dated._line
    from dated
    {{ fx_rate_join('dated', 'dated.issued_date', 'dated.currency') }}
)

select * from final
