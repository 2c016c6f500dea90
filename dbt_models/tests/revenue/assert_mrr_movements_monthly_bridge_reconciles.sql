-- mrr_movements_monthly: on every row (month, segment, region, acquisition_channel) the MRR
-- bridge reconciles to the cent, and so do net_new_mrr, arr_end and the customer counts.

with

movements as (
    select * from {{ ref('mrr_movements_monthly') }}
),

failures as (
    select *
    from movements
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
