-- Customer MRR at the month boundaries: one row per customer and month in which the customer
-- is active at the start (end of the day before the month) or at the end (end of the month's
-- last day, or of as_of_date).
--
-- Number the months 1..N. Month k closes at the end of its closing_date ("instant k") and
-- opens at the end of the day before it, which is month k - 1's closing day ("instant
-- k - 1"). Each change point holds its MRR from mrr_date until the day before next_mrr_date,
-- so it is the customer's MRR at the instants first_number..last_number: first_number is
-- the month of mrr_date (the first month whose closing day is on or after it) and
-- last_number the month before that of next_mrr_date (capped at N). A customer's change
-- points tile its instants, so the rows follow without a lookup per month:
--   * the month a change point first closes: mrr_start is the MRR of the change point before
--     it that held an instant (0 for the first), mrr_end its own;
--   * every later month it closes: mrr_start = mrr_end = its MRR (when above 0).
-- Cost: one window over the change points, and the customer-months themselves.

with

change_points as (
    select * from {{ ref('int_customer_mrr_daily') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

grid as (
    select min(month) as first_month, count(*) as month_count
    from months
),

spans as (
    select
        change_points.customer_id,
        change_points.mrr_after as mrr,
        {{ revenue_month_span('change_points.mrr_date', 'change_points.next_mrr_date') }}
    from change_points
    cross join grid
),

-- the change points that are the customer's MRR at one instant or more
readings as (
    select
        customer_id,
        mrr,
        first_number,
        last_number,
        coalesce(
            lag(mrr) over (partition by customer_id order by first_number),
            {{ to_money('0') }}
        ) as previous_mrr
    from spans
    where first_number <= last_number
),

first_closes as (
    select
        customer_id,
        first_number as month_number,
        previous_mrr as mrr_start,
        mrr as mrr_end
    from readings
    where mrr > 0 or previous_mrr > 0
),

later_closes as (
    select
        readings.customer_id,
        months.month_number,
        readings.mrr as mrr_start,
        readings.mrr as mrr_end
    from readings
    inner join months
        on months.month_number > readings.first_number
        and months.month_number <= readings.last_number
    where readings.mrr > 0
),

customer_months as (
    select * from first_closes
    union all
    select * from later_closes
),

final as (
    select
        customer_months.customer_id,
        months.month,
        {{ to_money('customer_months.mrr_start') }} as mrr_start,
        {{ to_money('customer_months.mrr_end') }} as mrr_end
    from customer_months
    inner join months
        on months.month_number = customer_months.month_number
)

select * from final
