-- The MRR bridge per month and current customer attributes (segment, region,
-- acquisition_channel; 'unknown' when missing or when the customer has no CRM row), exact:
-- opening and closing MRR and active customers from the month-boundary snapshots, the
-- movements summed from the daily movements. One row per month and attribute combination
-- with anything non-zero; all-zero rows are left out.

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

customer_months as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

snapshots as (
    select
        customer_months.month,
        {{ customer_dimensions() }},
        sum(customer_months.mrr_start) as mrr_start,
        sum(customer_months.mrr_end) as mrr_end,
        sum(case when customer_months.mrr_start > 0 then 1 else 0 end) as customers_start,
        sum(case when customer_months.mrr_end > 0 then 1 else 0 end) as customers_end,
        -- The customers active at the month's start: how many are still active at its end,
        -- their MRR at the end (NRR's numerator), and the same capped at each one's start
        -- MRR (GRR's).
        sum(case when customer_months.mrr_start > 0 and customer_months.mrr_end > 0 then 1 else 0 end)
            as retained_customers,
        sum(case when customer_months.mrr_start > 0 then customer_months.mrr_end else 0 end)
            as start_cohort_mrr_end,
        sum(case
            when customer_months.mrr_start <= 0 then 0
            when customer_months.mrr_end < customer_months.mrr_start then customer_months.mrr_end
            else customer_months.mrr_start
        end) as start_cohort_mrr_end_capped
    from customer_months
    left join customers
        on customers.customer_id = customer_months.customer_id
    group by 1, 2, 3, 4
),

movement_sums as (
    select
        movements.movement_month as month,
        {{ customer_dimensions() }},
        {{ revenue_movement_sums('movements.movement_type', 'movements.amount') }}
    from movements
    left join customers
        on customers.customer_id = movements.customer_id
    group by 1, 2, 3, 4
),

grain as (
    select month, segment, region, acquisition_channel from snapshots
    union
    select month, segment, region, acquisition_channel from movement_sums
),

joined as (
    select
        grain.month,
        grain.segment,
        grain.region,
        grain.acquisition_channel,
        {{ to_money('coalesce(snapshots.mrr_start, 0)') }} as mrr_start,
        {{ to_money('coalesce(movement_sums.new_mrr, 0)') }} as new_mrr,
        {{ to_money('coalesce(movement_sums.expansion_mrr, 0)') }} as expansion_mrr,
        {{ to_money('coalesce(movement_sums.reactivation_mrr, 0)') }} as reactivation_mrr,
        {{ to_money('coalesce(movement_sums.contraction_mrr, 0)') }} as contraction_mrr,
        {{ to_money('coalesce(movement_sums.churned_mrr, 0)') }} as churned_mrr,
        {{ to_money('coalesce(snapshots.mrr_end, 0)') }} as mrr_end,
        cast(coalesce(snapshots.customers_start, 0) as bigint) as customers_start,
        cast(coalesce(movement_sums.new_customers, 0) as bigint) as new_customers,
        cast(coalesce(movement_sums.reactivated_customers, 0) as bigint) as reactivated_customers,
        cast(coalesce(movement_sums.churned_customers, 0) as bigint) as churned_customers,
        cast(coalesce(snapshots.customers_end, 0) as bigint) as customers_end,
        cast(coalesce(snapshots.retained_customers, 0) as bigint) as retained_customers,
        {{ to_money('coalesce(snapshots.start_cohort_mrr_end, 0)') }} as start_cohort_mrr_end,
        {{ to_money('coalesce(snapshots.start_cohort_mrr_end_capped, 0)') }} as start_cohort_mrr_end_capped
    from grain
    left join snapshots
        on snapshots.month = grain.month
        and snapshots.segment = grain.segment
        and snapshots.region = grain.region
        and snapshots.acquisition_channel = grain.acquisition_channel
    left join movement_sums
        on movement_sums.month = grain.month
        and movement_sums.segment = grain.segment
        and movement_sums.region = grain.region
        and movement_sums.acquisition_channel = grain.acquisition_channel
),

final as (
    select
        month,
        segment,
        region,
        acquisition_channel,
        mrr_start,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        mrr_end,
        {{ to_money('mrr_end - mrr_start') }} as net_new_mrr,
        {{ to_money('12 * mrr_end') }} as arr_end,
        {{- mrr_bridge_customer_counts() }}
        start_cohort_mrr_end,
        start_cohort_mrr_end_capped
    from joined
)

select * from final
