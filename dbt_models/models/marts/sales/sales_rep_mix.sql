-- Rep mix (docs/METRICS.md, Revenue structure and sales): each rep's bookings through as_of_date
-- by product, contract length band (monthly: < 12 months, annual: exactly 12, multi_year:
-- > 12; macro sales_contract_band) and revenue type, with the count and total contract
-- value, and their shares of the rep's bookings (value and count; each adds up to 1 per
-- rep). Bookings without a rep belong to 'unknown'; missing product or revenue type is
-- 'unknown'.

with

bookings as (
    select * from {{ ref('int_bookings_reported') }}
),

reps as (
    select * from {{ ref('stg_reference__sales_reps') }}
),

mix as (
    select
        sales_rep_id,
        product,
        contract_band,
        revenue_type,
        count(*) as bookings_count,
        sum(contract_value) as bookings_value
    from bookings
    group by sales_rep_id, product, contract_band, revenue_type
),

with_totals as (
    select
        mix.*,
        sum(bookings_value) over (partition by sales_rep_id) as rep_bookings_value,
        sum(bookings_count) over (partition by sales_rep_id) as rep_bookings_count
    from mix
),

final as (
    select
        with_totals.sales_rep_id,
        coalesce(reps.rep_name, 'unknown') as rep_name,
        with_totals.product,
        with_totals.contract_band,
        with_totals.revenue_type,
        cast(with_totals.bookings_count as bigint) as bookings_count,
        {{ publish_money('with_totals.bookings_value') }} as bookings_value,
        {{ safe_ratio('with_totals.bookings_value', 'with_totals.rep_bookings_value') }}
            as share_of_rep_bookings,
        {{ safe_ratio('with_totals.bookings_count', 'with_totals.rep_bookings_count') }}
            as share_of_rep_bookings_count
    from with_totals
    left join reps
        on reps.sales_rep_id = with_totals.sales_rep_id
)

select * from final
