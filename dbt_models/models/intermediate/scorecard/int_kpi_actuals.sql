-- KPI actuals in long form (kpi, grain, period_start, actual): every KPI of the registry
-- (macro scorecard_kpi_registry) per month and per quarter, from the published marts.
-- Monthly actuals are the marts' own values. Quarterly actuals (docs/metrics_notes_sales.md):
-- flows are summed over the quarter's months; stocks are taken at the quarter's end (its
-- last month in the series: the as-of month for the current quarter, which is
-- quarter-to-date); rates are recomputed from the quarter's flows over the stock at the
-- quarter's start; retention compares each customer's MRR at the quarter's start and end.
-- A period outside a mart's series has no row (the scorecard shows no_data).

{#- Which KPIs each wide CTE below carries, per grain. Compile-time check: together they
    are exactly the registry, so a registered KPI always has an actual at both grains. -#}
{%- set monthly_sources = {
    'saas_monthly': ['mrr', 'arr', 'mrr_growth_rate', 'new_mrr', 'expansion_mrr', 'reactivation_mrr',
                     'contraction_mrr', 'churned_mrr', 'net_new_mrr', 'customers', 'new_customers',
                     'churned_customers', 'arpa', 'logo_churn_rate', 'customer_retention_rate',
                     'gross_mrr_churn_rate', 'net_mrr_churn_rate', 'net_revenue_retention',
                     'gross_revenue_retention', 'quick_ratio', 'ltv', 'sales_marketing_spend', 'cac',
                     'ltv_to_cac', 'cac_payback_months'],
    'usage_monthly': ['dau', 'mau', 'dau_mau'],
    'activation_by_month': ['activation_rate'],
    'nps_by_month': ['nps'],
    'csat_by_month': ['csat'],
    'leads_by_month': ['qualified_leads', 'lead_velocity_rate_pct', 'lead_to_customer_rate'],
    'releases_by_month': ['on_time_release_share'],
    'sales_by_month': ['revenue', 'bookings', 'bookings_count'],
} -%}
{%- set quarterly_sources = {
    'saas_quarterly': ['mrr', 'arr', 'mrr_growth_rate', 'new_mrr', 'expansion_mrr', 'reactivation_mrr',
                       'contraction_mrr', 'churned_mrr', 'net_new_mrr', 'customers', 'new_customers',
                       'churned_customers', 'arpa', 'logo_churn_rate', 'gross_mrr_churn_rate',
                       'net_mrr_churn_rate', 'quick_ratio', 'ltv', 'sales_marketing_spend', 'cac',
                       'ltv_to_cac', 'cac_payback_months'],
    'retention_quarterly': ['customer_retention_rate', 'net_revenue_retention', 'gross_revenue_retention'],
    'usage_quarterly': ['dau', 'mau', 'dau_mau'],
    'activation_quarterly': ['activation_rate'],
    'nps_quarterly': ['nps'],
    'csat_quarterly': ['csat'],
    'leads_quarterly': ['qualified_leads', 'lead_velocity_rate_pct', 'lead_to_customer_rate'],
    'releases_quarterly': ['on_time_release_share'],
    'sales_quarterly': ['revenue', 'bookings', 'bookings_count'],
} -%}
{%- set registered = [] -%}
{%- for entry in scorecard_kpi_registry() -%}{%- do registered.append(entry.kpi) -%}{%- endfor -%}
{%- for grain, sources in [('month', monthly_sources), ('quarter', quarterly_sources)] -%}
    {%- set provided = [] -%}
    {%- for kpis in sources.values() -%}{%- for kpi in kpis -%}{%- do provided.append(kpi) -%}{%- endfor -%}{%- endfor -%}
    {%- if (provided | sort) != (registered | sort) -%}
        {{ exceptions.raise_compiler_error(
            "int_kpi_actuals: the " ~ grain ~ " actuals do not match the KPI registry: missing "
            ~ (registered | reject('in', provided) | list) ~ ", unregistered or doubled "
            ~ (provided | reject('in', registered) | list) ~ " (of " ~ provided | length ~ ")") }}
    {%- endif -%}
{%- endfor %}

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

saas as (
    select * from {{ ref('saas_metrics_monthly') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

usage_daily as (
    select * from {{ ref('product_usage_daily') }}
),

activation as (
    select * from {{ ref('activation_monthly') }}
),

nps as (
    select * from {{ ref('nps_monthly') }}
),

csat as (
    select * from {{ ref('csat_monthly') }}
),

leads as (
    select * from {{ ref('leads_monthly') }}
),

releases as (
    select * from {{ ref('releases_monthly') }}
),

sales as (
    select * from {{ ref('bookings_vs_revenue_monthly') }}
),

-- Revenue (saas_metrics_monthly) -----------------------------------------------------------

saas_monthly as (
    select
        month as period_start,
        mrr_end as mrr,
        arr_end as arr,
        {{ safe_ratio('net_new_mrr', 'mrr_start') }} as mrr_growth_rate,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        net_new_mrr,
        customers_end as customers,
        new_customers,
        churned_customers,
        arpa,
        logo_churn_rate,
        customer_retention_rate,
        gross_mrr_churn_rate,
        net_mrr_churn_rate,
        net_revenue_retention,
        gross_revenue_retention,
        quick_ratio,
        ltv,
        sales_marketing_spend,
        cac,
        ltv_to_cac,
        cac_payback_months
    from saas
),

saas_in_quarters as (
    select
        saas.*,
        {{ quarter_start('saas.month') }} as quarter_start
    from saas
),

saas_quarter_sums as (
    select
        quarter_start,
        min(month) as first_month,
        max(month) as last_month,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(new_customers) as new_customers,
        sum(churned_customers) as churned_customers,
        sum(sales_marketing_spend) as sales_marketing_spend
    from saas_in_quarters
    group by quarter_start
),

saas_quarter_flows as (
    select
        sums.*,
        first_month.mrr_start,
        first_month.customers_start,
        last_month.mrr_end,
        last_month.arr_end,
        last_month.customers_end,
        last_month.arpa,
        last_month.ltv,
        {{ safe_ratio('sums.sales_marketing_spend', 'sums.new_customers') }} as cac,
        {{ safe_ratio('sums.new_mrr', 'sums.new_customers') }} as new_mrr_per_new_customer
    from saas_quarter_sums as sums
    inner join saas_in_quarters as first_month
        on first_month.month = sums.first_month
    inner join saas_in_quarters as last_month
        on last_month.month = sums.last_month
),

saas_quarterly as (
    select
        quarter_start as period_start,
        mrr_end as mrr,
        arr_end as arr,
        {{ safe_ratio('mrr_end - mrr_start', 'mrr_start') }} as mrr_growth_rate,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        mrr_end - mrr_start as net_new_mrr,
        customers_end as customers,
        new_customers,
        churned_customers,
        arpa,
        {{ safe_ratio('churned_customers', 'customers_start') }} as logo_churn_rate,
        {{ safe_ratio('churned_mrr + contraction_mrr', 'mrr_start') }} as gross_mrr_churn_rate,
        {{ safe_ratio('churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr', 'mrr_start') }}
            as net_mrr_churn_rate,
        {{ safe_ratio('new_mrr + expansion_mrr + reactivation_mrr', 'churned_mrr + contraction_mrr') }}
            as quick_ratio,
        ltv,
        sales_marketing_spend,
        cac,
        {{ safe_ratio('ltv', 'cac') }} as ltv_to_cac,
        {{ safe_ratio('cac', 'new_mrr_per_new_customer * cast(' ~ (var('gross_margin') | float) ~ ' as double)') }}
            as cac_payback_months
    from saas_quarter_flows
),

-- Quarterly retention: each customer's MRR at the end of the day before the quarter and at
-- the end of its last day (or of as_of_date), from the movements: MRR on a day is mrr_after
-- of the customer's latest movement on or before it.
movement_intervals as (
    select
        movements.customer_id,
        movements.movement_date,
        lead(movements.movement_date) over (
            partition by movements.customer_id order by movements.movement_date
        ) as next_movement_date,
        movements.mrr_after
    from movements
    cross join as_of
    where movements.movement_date <= as_of.as_of_date
),

quarter_instants as (
    select
        saas_quarter_sums.quarter_start,
        {{ add_days('saas_quarter_sums.quarter_start', -1) }} as opening_date,
        case
            when {{ add_days(add_months('saas_quarter_sums.quarter_start', 3), -1) }} > as_of.as_of_date
                then as_of.as_of_date
            else {{ add_days(add_months('saas_quarter_sums.quarter_start', 3), -1) }}
        end as closing_date
    from saas_quarter_sums
    cross join as_of
),

customers_at_opening as (
    select
        quarter_instants.quarter_start,
        movement_intervals.customer_id,
        movement_intervals.mrr_after as mrr_start
    from quarter_instants
    inner join movement_intervals
        on movement_intervals.movement_date <= quarter_instants.opening_date
        and (movement_intervals.next_movement_date is null
            or movement_intervals.next_movement_date > quarter_instants.opening_date)
    where movement_intervals.mrr_after > 0
),

customers_at_closing as (
    select
        quarter_instants.quarter_start,
        movement_intervals.customer_id,
        movement_intervals.mrr_after as mrr_end
    from quarter_instants
    inner join movement_intervals
        on movement_intervals.movement_date <= quarter_instants.closing_date
        and (movement_intervals.next_movement_date is null
            or movement_intervals.next_movement_date > quarter_instants.closing_date)
    where movement_intervals.mrr_after > 0
),

start_cohorts as (
    select
        customers_at_opening.quarter_start,
        count(*) as customers_start,
        sum(case when customers_at_closing.mrr_end > 0 then 1 else 0 end) as retained_customers,
        sum(customers_at_opening.mrr_start) as mrr_start,
        sum(coalesce(customers_at_closing.mrr_end, 0)) as mrr_end,
        sum(case
            when coalesce(customers_at_closing.mrr_end, 0) < customers_at_opening.mrr_start
                then coalesce(customers_at_closing.mrr_end, 0)
            else customers_at_opening.mrr_start
        end) as mrr_end_capped
    from customers_at_opening
    left join customers_at_closing
        on customers_at_closing.quarter_start = customers_at_opening.quarter_start
        and customers_at_closing.customer_id = customers_at_opening.customer_id
    group by customers_at_opening.quarter_start
),

retention_quarterly as (
    select
        quarter_instants.quarter_start as period_start,
        {{ safe_ratio('start_cohorts.retained_customers', 'start_cohorts.customers_start') }}
            as customer_retention_rate,
        {{ safe_ratio('start_cohorts.mrr_end', 'start_cohorts.mrr_start') }} as net_revenue_retention,
        {{ safe_ratio('start_cohorts.mrr_end_capped', 'start_cohorts.mrr_start') }}
            as gross_revenue_retention
    from quarter_instants
    left join start_cohorts
        on start_cohorts.quarter_start = quarter_instants.quarter_start
),

-- Usage (product_usage_daily): dau and dau_mau (stickiness) are means over the period's
-- days; mau is the value on the period's last reported day.
usage_days as (
    select
        usage_daily.date,
        {{ month_start('usage_daily.date') }} as month,
        {{ quarter_start('usage_daily.date') }} as quarter_start,
        cast(usage_daily.dau as double) as dau,
        cast(usage_daily.mau as double) as mau,
        usage_daily.stickiness
    from usage_daily
    cross join as_of
    where usage_daily.date <= as_of.as_of_date
),

{% for grain, period, name in [('month', 'month', 'usage_monthly'), ('quarter', 'quarter_start', 'usage_quarterly')] %}
{{ name }}_means as (
    select
        {{ period }} as period_start,
        avg(dau) as dau,
        avg(stickiness) as dau_mau,
        max(date) as last_date
    from usage_days
    group by {{ period }}
),

{{ name }} as (
    select
        means.period_start,
        means.dau,
        last_day.mau,
        means.dau_mau
    from {{ name }}_means as means
    inner join usage_days as last_day
        on last_day.date = means.last_date
),
{% endfor %}

-- Activation, NPS, CSAT, leads, releases, revenue and bookings ------------------------------

activation_by_month as (
    select signup_month as period_start, activation_rate from activation
),

activation_quarterly as (
    select
        {{ quarter_start('signup_month') }} as period_start,
        {{ safe_ratio('sum(activated_users)', 'sum(users)') }} as activation_rate
    from activation
    group by {{ quarter_start('signup_month') }}
),

nps_by_month as (
    select month as period_start, nps from nps
),

nps_quarterly as (
    select
        {{ quarter_start('month') }} as period_start,
        {{ safe_ratio('100 * (sum(promoters) - sum(detractors))', 'sum(responses)') }} as nps
    from nps
    group by {{ quarter_start('month') }}
),

csat_by_month as (
    select month as period_start, csat from csat
),

csat_quarterly as (
    select
        {{ quarter_start('month') }} as period_start,
        {{ safe_ratio('sum(satisfied_responses)', 'sum(responses)') }} as csat
    from csat
    group by {{ quarter_start('month') }}
),

leads_by_month as (
    select
        month as period_start,
        qualified_leads,
        lead_velocity_rate_pct,
        lead_to_customer_rate
    from leads
),

leads_quarter_sums as (
    select
        {{ quarter_start('month') }} as period_start,
        sum(leads) as leads,
        sum(qualified_leads) as qualified_leads,
        sum(converted_leads) as converted_leads
    from leads
    group by {{ quarter_start('month') }}
),

leads_quarterly as (
    select
        this_quarter.period_start,
        this_quarter.qualified_leads,
        {{ safe_ratio('100 * (this_quarter.qualified_leads - previous_quarter.qualified_leads)',
                           'previous_quarter.qualified_leads') }} as lead_velocity_rate_pct,
        {{ safe_ratio('this_quarter.converted_leads', 'this_quarter.leads') }} as lead_to_customer_rate
    from leads_quarter_sums as this_quarter
    left join leads_quarter_sums as previous_quarter
        on previous_quarter.period_start = {{ add_months('this_quarter.period_start', -3) }}
),

releases_by_month as (
    select month as period_start, on_time_share as on_time_release_share from releases
),

releases_quarterly as (
    select
        {{ quarter_start('month') }} as period_start,
        {{ safe_ratio('sum(on_time_releases)', 'sum(releases_with_plan)') }} as on_time_release_share
    from releases
    group by {{ quarter_start('month') }}
),

sales_by_month as (
    select
        month as period_start,
        revenue,
        bookings_value as bookings,
        bookings_count
    from sales
),

sales_quarterly as (
    select
        {{ quarter_start('month') }} as period_start,
        sum(revenue) as revenue,
        sum(bookings_value) as bookings,
        sum(bookings_count) as bookings_count
    from sales
    group by {{ quarter_start('month') }}
),

long_form as (
    {%- for grain, sources in [('month', monthly_sources), ('quarter', quarterly_sources)] %}
    {%- set outer_loop = loop %}
    {%- for relation, kpis in sources.items() %}
    {{ scorecard_unpivot(relation, grain, kpis) }}
    {% if not (outer_loop.last and loop.last) %}union all{% endif %}
    {%- endfor %}
    {%- endfor %}
),

final as (
    select
        kpi,
        grain,
        cast(period_start as date) as period_start,
        actual
    from long_form
)

select * from final
