-- saas_metrics_monthly: each month starts where the previous one ended (MRR to the cent,
-- customers exactly), and the first month starts from 0.

with

metrics as (
    select * from {{ ref('saas_metrics_monthly') }}
),

with_previous as (
    select
        month,
        mrr_start,
        customers_start,
        lag(mrr_end) over (order by month) as previous_mrr_end,
        lag(customers_end) over (order by month) as previous_customers_end,
        row_number() over (order by month) as position
    from metrics
),

failures as (
    select *
    from with_previous
    where (position = 1 and (mrr_start <> 0 or customers_start <> 0))
        or (position > 1 and (
            not coalesce(abs(mrr_start - previous_mrr_end) < 0.005, false)
            or customers_start <> previous_customers_end
        ))
)

select * from failures
