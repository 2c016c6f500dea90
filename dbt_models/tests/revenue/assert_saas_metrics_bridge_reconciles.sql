-- saas_metrics_monthly: for every month the MRR bridge reconciles to the cent,
-- mrr_end = mrr_start + new + expansion + reactivation - contraction - churned, and so do
-- net_new_mrr, arr_end and the customer counts (docs/METRICS.md, Monthly movements).

with

metrics as (
    select * from {{ ref('saas_metrics_monthly') }}
),

failures as (
    select *
    from metrics
    where not coalesce(
            abs(mrr_end - (mrr_start + new_mrr + expansion_mrr + reactivation_mrr
                           - contraction_mrr - churned_mrr)) < 0.005,
            false)
        or not coalesce(abs(net_new_mrr - (mrr_end - mrr_start)) < 0.005, false)
        or not coalesce(abs(arr_end - 12 * mrr_end) < 0.005, false)
        or not coalesce(
            customers_end = customers_start + new_customers + reactivated_customers - churned_customers,
            false)
)

select * from failures
