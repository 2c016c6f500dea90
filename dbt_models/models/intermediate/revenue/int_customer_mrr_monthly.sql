-- Customer MRR at the month boundaries: one row per customer and month in which the customer
-- is active at the start (end of the day before the month) or at the end (end of the month's
-- last day, or of as_of_date). An as-of lookup of the change points per month end, so the
-- grid only holds customers active at a boundary (no customer x day spine).

with

change_points as (
    select * from {{ ref('int_customer_mrr_daily') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

active_intervals as (
    select customer_id, mrr_date, next_mrr_date, mrr_after
    from change_points
    where mrr_after > 0
),

month_ends as (
    select
        active_intervals.customer_id,
        months.month,
        active_intervals.mrr_after as mrr_end
    from active_intervals
    inner join months
        on months.closing_date >= active_intervals.mrr_date
        and months.closing_date < active_intervals.next_mrr_date
),

month_starts as (
    select
        active_intervals.customer_id,
        months.month,
        active_intervals.mrr_after as mrr_start
    from active_intervals
    inner join months
        on months.opening_date >= active_intervals.mrr_date
        and months.opening_date < active_intervals.next_mrr_date
),

final as (
    select
        coalesce(month_starts.customer_id, month_ends.customer_id) as customer_id,
        coalesce(month_starts.month, month_ends.month) as month,
        coalesce(month_starts.mrr_start, {{ to_money('0') }}) as mrr_start,
        coalesce(month_ends.mrr_end, {{ to_money('0') }}) as mrr_end
    from month_starts
    full outer join month_ends
        on month_ends.customer_id = month_starts.customer_id
        and month_ends.month = month_starts.month
)

select * from final
