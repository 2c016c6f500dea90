-- The MRR bridge per month, segment, region and acquisition_channel (docs/LANDING.md
-- section 2), customers attributed by their current attributes. Summed over the three
-- dimensions it gives saas_metrics_monthly. All-zero rows are left out.

with

bridge as (
    select * from {{ ref('int_mrr_bridge_monthly') }}
),

final as (
    select
        -- the grain of int_mrr_bridge_monthly, whose rows this mart publishes as they are
        bridge.month,
        bridge.segment,
        bridge.region,
        bridge.acquisition_channel,
        {{- published_mrr_movements() }}
        {{ publish_money('net_new_mrr') }} as net_new_mrr,
        {{ publish_money('arr_end') }} as arr_end,
        {{- mrr_bridge_customer_counts() }}
        {{ publish_money('start_cohort_mrr_end') }} as start_cohort_mrr_end,
        {{ publish_money('start_cohort_mrr_end_capped') }} as start_cohort_mrr_end_capped
    from bridge
)

select * from final
