-- Sales rep performance (docs/METRICS.md, Revenue structure and sales): per rep and quarter, the
-- bookings signed (total contract value, reporting currency) against the quota of
-- seeds/sales_quotas.csv; attainment = bookings / quota, NULL when the rep has no quota
-- for the quarter or it is 0. One row per rep and quarter with a quota or a booking, from
-- the quarter of the first booking through the quarter of as_of_date (a quota of a later
-- quarter is not due yet; is_complete_quarter is false for a quarter not over by
-- as_of_date). Bookings without a rep belong to 'unknown'.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

bookings as (
    select * from {{ ref('int_bookings_reported') }}
),

quotas as (
    select * from {{ ref('stg_reference__sales_quotas') }}
),

reps as (
    select * from {{ ref('stg_reference__sales_reps') }}
),

bounds as (
    select
        (select min(booked_quarter) from bookings) as first_quarter,
        {{ quarter_start('as_of.as_of_date') }} as last_quarter,
        as_of.as_of_date
    from as_of
),

quarterly_bookings as (
    select
        sales_rep_id,
        booked_quarter as quarter_start,
        count(*) as bookings_count,
        sum(contract_value) as bookings
    from bookings
    group by sales_rep_id, booked_quarter
),

quarterly_quotas as (
    select
        sales_rep_id,
        quarter_start,
        sum(quota_amount) as quota
    from quotas
    group by sales_rep_id, quarter_start
),

rep_quarters as (
    select sales_rep_id, quarter_start from quarterly_bookings
    union
    select quarterly_quotas.sales_rep_id, quarterly_quotas.quarter_start
    from quarterly_quotas
    cross join bounds
    where quarterly_quotas.quarter_start >= bounds.first_quarter
        and quarterly_quotas.quarter_start <= bounds.last_quarter
),

final as (
    select
        rep_quarters.sales_rep_id,
        coalesce(reps.rep_name, 'unknown') as rep_name,
        rep_quarters.quarter_start,
        {{ publish_money('coalesce(quarterly_bookings.bookings, 0)') }} as bookings,
        cast(coalesce(quarterly_bookings.bookings_count, 0) as bigint) as bookings_count,
        cast(quarterly_quotas.quota as double) as quota,
        {{ safe_ratio('coalesce(quarterly_bookings.bookings, 0)', 'quarterly_quotas.quota') }} as attainment,
        {{ add_days(add_months('rep_quarters.quarter_start', 3), -1) }} <= bounds.as_of_date
            as is_complete_quarter
    from rep_quarters
    cross join bounds
    left join quarterly_bookings
        on quarterly_bookings.sales_rep_id = rep_quarters.sales_rep_id
        and quarterly_bookings.quarter_start = rep_quarters.quarter_start
    left join quarterly_quotas
        on quarterly_quotas.sales_rep_id = rep_quarters.sales_rep_id
        and quarterly_quotas.quarter_start = rep_quarters.quarter_start
    left join reps
        on reps.sales_rep_id = rep_quarters.sales_rep_id
)

select * from final
