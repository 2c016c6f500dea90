-- Customer MRR at the month boundaries, as runs: one row per customer change point that is
-- the customer's MRR at one month boundary or more, with the boundaries it holds and the MRR
-- at the boundary before its first.
--
-- Number the months 1..N. Month k closes at the end of its closing_date ("instant k") and
-- opens at the end of the day before it, which is month k - 1's closing day ("instant
-- k - 1"). Each change point holds its MRR from mrr_date until the day before next_mrr_date,
-- so it is the customer's MRR at the instants first_number..last_number: first_number is
-- the month of mrr_date (the first month whose closing day is on or after it) and
-- last_number the month before that of next_mrr_date (capped at N). A customer's runs tile
-- its instants from its first run on (MRR 0 before it), so the MRR at instant first_number - 1
-- is the previous run's (previous_mrr, 0 for the first). A month's opening and closing MRR
-- per customer follow without a row per customer and month: in month first_number the
-- customer goes from previous_mrr to mrr; in each later month through last_number it stays
-- at mrr. The monthly bridge and the cohorts sum these runs with running sums over the
-- months (int_mrr_bridge_monthly, customer_cohorts_monthly): linear in the change points,
-- where a customer-month grid (35 million rows at 1 million customers) was built and read
-- before.

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

final as (
    select
        customer_id,
        {{ to_money('mrr') }} as mrr,
        {{ to_money(
            "coalesce(lag(mrr) over (partition by customer_id order by first_number), 0)"
        ) }} as previous_mrr,
        first_number,
        last_number
    from spans
    where first_number <= last_number
)

select * from final
