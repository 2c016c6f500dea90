-- The MRR bridge per month, segment, region and acquisition_channel (docs/LANDING.md
-- section 2), customers attributed by their current attributes. Summed over the three
-- dimensions it gives saas_metrics_monthly. All-zero rows are left out.

with

bridge as (
    select * from {{ ref('int_mrr_bridge_monthly') }}
),

final as (
    select
        month,
        segment,
        region,
        acquisition_channel,
        {{ publish_money('mrr_start') }} as mrr_start,
        {{ publish_money('new_mrr') }} as new_mrr,
        {{ publish_money('expansion_mrr') }} as expansion_mrr,
        {{ publish_money('reactivation_mrr') }} as reactivation_mrr,
        {{ publish_money('contraction_mrr') }} as contraction_mrr,
        {{ publish_money('churned_mrr') }} as churned_mrr,
        {{ publish_money('mrr_end') }} as mrr_end,
        {{ publish_money('net_new_mrr') }} as net_new_mrr,
        {{ publish_money('arr_end') }} as arr_end,
        customers_start,
        new_customers,
        reactivated_customers,
        churned_customers,
        customers_end,
        retained_customers,
        {{ publish_money('start_cohort_mrr_end') }} as start_cohort_mrr_end,
        {{ publish_money('start_cohort_mrr_end_capped') }} as start_cohort_mrr_end_capped
    from bridge
)

select * from final
