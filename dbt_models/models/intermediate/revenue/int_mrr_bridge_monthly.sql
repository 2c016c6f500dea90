-- The MRR bridge per month and current customer attributes (segment, region,
-- acquisition_channel; 'unknown' when missing or when the customer has no CRM row), exact:
-- opening and closing MRR and active customers from the customers' MRR runs over the month
-- boundaries (int_customer_mrr_spans: a run's first month, then running sums over its later
-- months), the movements summed from the daily movements. One row per month and attribute
-- combination with anything non-zero; all-zero rows are left out.

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

spans as (
    select * from {{ ref('int_customer_mrr_spans') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

customer_spans as (
    select
        spans.mrr,
        spans.previous_mrr,
        spans.first_number,
        spans.last_number,
        {{ customer_dimensions() }}
    from spans
    left join customers
        on customers.customer_id = spans.customer_id
),

-- A run's first month: the customer goes from previous_mrr (at the month's opening) to mrr
-- (at its closing). The customers active at the opening: how many are still active at the
-- closing, their MRR at the closing (NRR's numerator), and the same capped at each one's
-- opening MRR (GRR's).
first_months as (
    select
        first_number as month_number,
        segment,
        region,
        acquisition_channel,
        sum(previous_mrr) as mrr_start,
        sum(mrr) as mrr_end,
        sum(case when previous_mrr > 0 then 1 else 0 end) as customers_start,
        sum(case when mrr > 0 then 1 else 0 end) as customers_end,
        sum(case when previous_mrr > 0 and mrr > 0 then 1 else 0 end) as retained_customers,
        sum(case when previous_mrr > 0 then mrr else 0 end) as start_cohort_mrr_end,
        sum(case
            when previous_mrr <= 0 then 0
            when mrr < previous_mrr then mrr
            else previous_mrr
        end) as start_cohort_mrr_end_capped
    from customer_spans
    where mrr > 0 or previous_mrr > 0
    group by first_number, segment, region, acquisition_channel
),

-- Each later month of a run (first_number + 1 .. last_number) the customer opens and closes
-- at mrr: active at both ends, retained, its MRR in every sum. Stated as the change in the
-- month it starts holding and its opposite after its last; a running sum over the months
-- gives each month's total.
held_changes as (
    select
        month_number,
        segment,
        region,
        acquisition_channel,
        sum(mrr_change) as mrr_change,
        sum(customers_change) as customers_change
    from (
        select first_number + 1 as month_number, segment, region, acquisition_channel,
            mrr as mrr_change, 1 as customers_change
        from customer_spans
        where mrr > 0 and last_number > first_number
        union all
        select last_number + 1 as month_number, segment, region, acquisition_channel,
            -mrr as mrr_change, -1 as customers_change
        from customer_spans
        where mrr > 0 and last_number > first_number
    ) as changes
    group by month_number, segment, region, acquisition_channel
),

held as (
    {{ running_month_levels(
        'held_changes', ['segment', 'region', 'acquisition_channel'],
        {'mrr': 'mrr_change', 'customers': 'customers_change'}) }}
),

-- Per month and attributes: the customers active at its opening or closing, summed.
snapshots as (
    select
        months.month,
        parts.segment,
        parts.region,
        parts.acquisition_channel,
        sum(parts.mrr_start) as mrr_start,
        sum(parts.mrr_end) as mrr_end,
        sum(parts.customers_start) as customers_start,
        sum(parts.customers_end) as customers_end,
        sum(parts.retained_customers) as retained_customers,
        sum(parts.start_cohort_mrr_end) as start_cohort_mrr_end,
        sum(parts.start_cohort_mrr_end_capped) as start_cohort_mrr_end_capped
    from (
        select * from first_months
        union all
        select month_number, segment, region, acquisition_channel,
            mrr, mrr, customers, customers, customers, mrr, mrr
        from held
    ) as parts
    inner join months
        on months.month_number = parts.month_number
    group by months.month, parts.segment, parts.region, parts.acquisition_channel
    having sum(parts.customers_start) > 0 or sum(parts.customers_end) > 0
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
