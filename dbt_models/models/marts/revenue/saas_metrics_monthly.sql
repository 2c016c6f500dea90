-- Company SaaS metrics per month (docs/METRICS.md: Revenue, Churn and retention, Unit economics;
-- docs/MARTS.md (contract tables)): one row per month from the month of the earliest effective_at
-- through the as-of month. The bridge is the sum of int_mrr_bridge_monthly over its
-- dimensions (exact decimals until published), retention included (each customer's MRR at the
-- month's start and end); spend is cut at as_of_date. Rates with a 0 denominator are NULL.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

months as (
    select * from {{ ref('int_revenue_months') }}
),

bridge as (
    select * from {{ ref('int_mrr_bridge_monthly') }}
),

spend as (
    select * from {{ ref('stg_marketing__spend') }}
),

company_bridge as (
    select
        month,
        sum(mrr_start) as mrr_start,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(mrr_end) as mrr_end,
        sum(customers_start) as customers_start,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(churned_customers) as churned_customers,
        sum(customers_end) as customers_end,
        sum(retained_customers) as retained_customers,
        sum(start_cohort_mrr_end) as start_cohort_mrr_end,
        sum(start_cohort_mrr_end_capped) as start_cohort_mrr_end_capped
    from bridge
    group by month
),

monthly_spend as (
    select
        spend.spend_month as month,
        sum(spend.amount_reporting) as sales_marketing_spend,
        sum(case when spend.motion = 'new_business' then spend.amount_reporting else 0 end)
            as new_business_spend
    from spend
    cross join as_of
    where spend.spend_date <= as_of.as_of_date
    group by spend.spend_month
),

joined as (
    select
        months.month,
        coalesce(company_bridge.mrr_start, 0) as mrr_start,
        coalesce(company_bridge.new_mrr, 0) as new_mrr,
        coalesce(company_bridge.expansion_mrr, 0) as expansion_mrr,
        coalesce(company_bridge.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(company_bridge.contraction_mrr, 0) as contraction_mrr,
        coalesce(company_bridge.churned_mrr, 0) as churned_mrr,
        coalesce(company_bridge.mrr_end, 0) as mrr_end,
        coalesce(company_bridge.customers_start, 0) as customers_start,
        coalesce(company_bridge.new_customers, 0) as new_customers,
        coalesce(company_bridge.reactivated_customers, 0) as reactivated_customers,
        coalesce(company_bridge.churned_customers, 0) as churned_customers,
        coalesce(company_bridge.customers_end, 0) as customers_end,
        coalesce(company_bridge.retained_customers, 0) as retained_customers,
        coalesce(company_bridge.start_cohort_mrr_end, 0) as start_cohort_mrr_end,
        coalesce(company_bridge.start_cohort_mrr_end_capped, 0) as start_cohort_mrr_end_capped,
        coalesce(monthly_spend.sales_marketing_spend, 0) as sales_marketing_spend,
        coalesce(monthly_spend.new_business_spend, 0) as new_business_spend
    from months
    left join company_bridge
        on company_bridge.month = months.month
    left join monthly_spend
        on monthly_spend.month = months.month
),

rates as (
    select
        joined.*,
        {{ safe_ratio('mrr_end', 'customers_end') }} as arpa,
        {{ safe_ratio('churned_customers', 'customers_start') }} as logo_churn_rate,
        {{ safe_ratio('retained_customers', 'customers_start') }} as customer_retention_rate,
        {{ safe_ratio('churned_mrr + contraction_mrr', 'mrr_start') }} as gross_mrr_churn_rate,
        {{ safe_ratio('churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr', 'mrr_start') }}
            as net_mrr_churn_rate,
        {{ safe_ratio('start_cohort_mrr_end', 'mrr_start') }} as net_revenue_retention,
        {{ safe_ratio('start_cohort_mrr_end_capped', 'mrr_start') }} as gross_revenue_retention,
        {{ safe_ratio('new_mrr + expansion_mrr + reactivation_mrr', 'churned_mrr + contraction_mrr') }}
            as quick_ratio,
        {{ safe_ratio('sales_marketing_spend', 'new_customers') }} as cac,
        {{ safe_ratio('new_business_spend', 'new_customers') }} as cac_new_business,
        {{ safe_ratio('new_mrr', 'new_customers') }} as new_mrr_per_new_customer
    from joined
),

-- LTV: the mean of the non-NULL logo_churn_rate values over the trailing window including
-- this month (fewer months at the start of history).
ltv_window as (
    select
        rates.*,
        avg(logo_churn_rate) over (
            order by month
            rows between {{ (var('ltv_churn_window_months') | int) - 1 }} preceding and current row
        ) as ltv_churn_rate_mean
    from rates
),

unit_economics as (
    select
        ltv_window.*,
        {{ safe_ratio('arpa * ' ~ double_var('gross_margin'), 'ltv_churn_rate_mean') }} as ltv,
        {{ safe_ratio('cac', 'new_mrr_per_new_customer * ' ~ double_var('gross_margin')) }}
            as cac_payback_months
    from ltv_window
),

final as (
    select
        month,
        {{- published_mrr_movements() }}
        {{ publish_money('mrr_end - mrr_start') }} as net_new_mrr,
        {{ publish_money('12 * mrr_end') }} as arr_end,
        cast(customers_start as bigint) as customers_start,
        cast(new_customers as bigint) as new_customers,
        cast(reactivated_customers as bigint) as reactivated_customers,
        cast(churned_customers as bigint) as churned_customers,
        cast(customers_end as bigint) as customers_end,
        arpa,
        logo_churn_rate,
        customer_retention_rate,
        gross_mrr_churn_rate,
        net_mrr_churn_rate,
        net_revenue_retention,
        gross_revenue_retention,
        quick_ratio,
        ltv,
        {{ publish_money('sales_marketing_spend') }} as sales_marketing_spend,
        cac,
        {{ safe_ratio('ltv', 'cac') }} as ltv_to_cac,
        cac_payback_months,
        cac_new_business,
        {{ publish_money('new_business_spend') }} as new_business_spend
    from unit_economics
)

select * from final
