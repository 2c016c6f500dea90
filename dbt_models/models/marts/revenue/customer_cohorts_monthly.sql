-- Customer cohorts (docs/METRICS.md, Customer cohorts): one row per cohort month (the month of a
-- customer's new movement) and month since start, a full triangle through the as-of month,
-- zero cells included. At k, active_customers and mrr are the cohort's customers active and
-- their MRR at the end of month cohort_month + k (of as_of_date for the as-of month).

with

months as (
    select * from {{ ref('int_revenue_months') }}
),

movements as (
    select * from {{ ref('int_mrr_movements') }}
),

spans as (
    select * from {{ ref('int_customer_mrr_spans') }}
),

cohort_members as (
    select
        customer_id,
        movement_month as cohort_month
    from movements
    where movement_type = 'new'
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_customers
    from cohort_members
    group by cohort_month
),

triangle as (
    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        months.month,
        {{ dbt.datediff('cohorts.cohort_month', 'months.month', 'month') }} as months_since_start
    from cohorts
    inner join months
        on months.month >= cohorts.cohort_month
),

-- A cohort customer's run with MRR above 0 counts it (and its MRR) active at the end of each
-- month first_number .. last_number: +1 in its first month, -1 after its last, summed by
-- cohort and month, and a running sum over the months gives each month's actives.
cohort_spans as (
    select cohort_members.cohort_month, spans.mrr, spans.first_number, spans.last_number
    from cohort_members
    inner join spans
        on spans.customer_id = cohort_members.customer_id
    where spans.mrr > 0
),

activity_changes as (
    select
        cohort_month,
        month_number,
        sum(customers_change) as customers_change,
        sum(mrr_change) as mrr_change
    from (
        select cohort_month, first_number as month_number,
            1 as customers_change, mrr as mrr_change
        from cohort_spans
        union all
        select cohort_month, last_number + 1 as month_number,
            -1 as customers_change, -mrr as mrr_change
        from cohort_spans
    ) as changes
    group by cohort_month, month_number
),

cohort_activity as (
    {{ running_month_levels(
        'activity_changes', ['cohort_month'],
        {'active_customers': 'customers_change', 'mrr': 'mrr_change'}) }}
),

cells as (
    select
        triangle.cohort_month,
        triangle.months_since_start,
        triangle.cohort_customers,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        coalesce(cohort_activity.mrr, 0) as mrr
    from triangle
    left join cohort_activity
        on cohort_activity.cohort_month = triangle.cohort_month
        and cohort_activity.month = triangle.month
),

with_start as (
    select
        cells.*,
        max(case when cells.months_since_start = 0 then cells.mrr end) over (
            partition by cells.cohort_month
        ) as cohort_start_mrr
    from cells
),

final as (
    select
        cohort_month,
        cast(months_since_start as integer) as months_since_start,
        cast(cohort_customers as bigint) as cohort_customers,
        cast(active_customers as bigint) as active_customers,
        {{ safe_ratio('active_customers', 'cohort_customers') }} as logo_retention,
        {{ publish_money('cohort_start_mrr') }} as cohort_start_mrr,
        {{ publish_money('mrr') }} as mrr,
        {{ safe_ratio('mrr', 'cohort_start_mrr') }} as revenue_retention
    from with_start
)

select * from final
