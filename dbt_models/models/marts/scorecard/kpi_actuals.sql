-- KPI actuals in long form (kpi, grain, period_start, actual): every KPI of the registry
-- (macro scorecard_kpi_registry) per month and per quarter. Each KPI is read from its one
-- definition, the semantic layer's metric of the same name (models/semantic/_metrics.yml,
-- compiled by macro metric_expression, dbt_models/macros/semantic.sql): flows summed over the period, stocks at its end (the
-- last month in the mart's series: quarter-to-date for the current quarter) or start, rates
-- recomputed from those. A metric defined per month only (meta finest_grain_only: NRR, GRR,
-- customer retention, lead velocity) has its quarterly rule here, where the scorecard
-- defines it (docs/metrics_notes_sales.md): retention compares each customer's MRR at the
-- quarter's start and end; lead velocity compares a quarter's qualified leads with the
-- previous quarter's. A period outside a mart's series has no row (the scorecard shows
-- no_data).
-- The marts the registry's metrics read (their refs are made while compiling them):
-- depends_on: {{ ref('mrr_movements_monthly') }}
-- depends_on: {{ ref('saas_metrics_monthly') }}
-- depends_on: {{ ref('cac_by_channel_monthly') }}
-- depends_on: {{ ref('product_usage_daily') }}
-- depends_on: {{ ref('activation_monthly') }}
-- depends_on: {{ ref('nps_by_segment_monthly') }}
-- depends_on: {{ ref('csat_monthly') }}
-- depends_on: {{ ref('lead_conversion_by_channel_monthly') }}
-- depends_on: {{ ref('releases_monthly') }}
-- depends_on: {{ ref('bookings_vs_revenue_monthly') }}
-- depends_on: {{ ref('revenue_mix_by_product_monthly') }}

{%- set registered = [] -%}
{%- for entry in scorecard_kpi_registry() -%}{%- do registered.append(entry.kpi) -%}{%- endfor -%}
{%- set quarterly_here = {
    'retention_quarterly': ['customer_retention_rate', 'net_revenue_retention', 'gross_revenue_retention'],
    'leads_quarterly': ['lead_velocity_rate_pct'],
} -%}
{%- set own_rule = [] -%}
{%- for kpis in quarterly_here.values() -%}{%- for kpi in kpis -%}{%- do own_rule.append(kpi) -%}{%- endfor -%}{%- endfor -%}
{%- if execute -%}
    {#- Compile-time check: the KPIs with a quarterly rule here are exactly the registered
        metrics defined per month only. -#}
    {%- set monthly_only = [] -%}
    {%- for kpi in registered -%}
        {%- if (semantic_metric(kpi).config.meta or {}).get('finest_grain_only') -%}{%- do monthly_only.append(kpi) -%}{%- endif -%}
    {%- endfor -%}
    {%- if (monthly_only | sort) != (own_rule | sort) -%}
        {{ exceptions.raise_compiler_error("kpi_actuals: the KPIs defined per month only are "
            ~ (monthly_only | sort) ~ " but the quarterly rules here cover " ~ (own_rule | sort)) }}
    {%- endif -%}
{%- endif %}
{#- Each KPI compiled from its metric: (kpi, grain, expression); the semantic models read,
    each aggregated once per grain. -#}
{%- set compiled = [] -%}
{%- set needed = [] -%}
{%- if execute -%}
    {%- for grain in ['month', 'quarter'] -%}
        {%- for kpi in registered if grain == 'month' or kpi not in own_rule -%}
            {%- set expression = metric_expression(kpi) -%}
            {%- do compiled.append((kpi, grain, expression)) -%}
            {%- for model in expression.models + expression.previous -%}
                {%- if (model, grain) not in needed -%}{%- do needed.append((model, grain)) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

with

saas as (
    select * from {{ ref('saas_metrics_monthly') }}
),

spans as (
    select * from {{ ref('int_customer_mrr_spans') }}
),

revenue_months as (
    select * from {{ ref('int_revenue_months') }}
),

leads as (
    select * from {{ ref('leads_monthly') }}
),

saas_quarters as (
    select distinct {{ quarter_start('month') }} as quarter_start
    from saas
),

-- Quarterly retention: the customers with MRR at the end of the day before the quarter (its
-- opening: month k's opening is instant k - 1 of int_customer_mrr_spans), and their MRR at
-- the end of its last day or of as_of_date (its closing: the instant of its last month, at
-- most the as-of month). The opening count and MRR are the quarter's first month's opening
-- in saas_metrics_monthly (none before the first revenue month). A customer's MRR at the
-- closing differs from the opening only when a run of its MRR starts inside the quarter:
-- then the opening MRR is the previous_mrr of the first such run and the closing MRR the mrr
-- of the last. So only those customers are read (one row per customer and quarter with a
-- change), not every customer in every quarter.
quarter_openings as (
    select
        saas_quarters.quarter_start,
        coalesce(saas.customers_start, 0) as customers_start,
        coalesce(saas.mrr_start, 0) as mrr_start
    from saas_quarters
    left join saas
        on saas.month = saas_quarters.quarter_start
),

changed_in_quarter as (
    select
        {{ quarter_start('revenue_months.month') }} as quarter_start,
        spans.customer_id,
        {{ value_at_min('spans.previous_mrr', 'spans.first_number') }} as mrr_start,
        {{ value_at_max('spans.mrr', 'spans.first_number') }} as mrr_end
    from spans
    inner join revenue_months
        on revenue_months.month_number = spans.first_number
    group by {{ quarter_start('revenue_months.month') }}, spans.customer_id
),

quarter_changes as (
    select
        quarter_start,
        sum(case when mrr_end > 0 then 0 else 1 end) as lost_customers,
        sum(mrr_end - mrr_start) as mrr_change,
        sum(case when mrr_end < mrr_start then mrr_end - mrr_start else 0 end)
            as mrr_change_capped
    from changed_in_quarter
    where mrr_start > 0
    group by quarter_start
),

start_cohorts as (
    select
        quarter_openings.quarter_start,
        quarter_openings.customers_start,
        quarter_openings.customers_start - coalesce(quarter_changes.lost_customers, 0)
            as retained_customers,
        quarter_openings.mrr_start,
        quarter_openings.mrr_start + coalesce(quarter_changes.mrr_change, 0) as mrr_end,
        quarter_openings.mrr_start + coalesce(quarter_changes.mrr_change_capped, 0)
            as mrr_end_capped
    from quarter_openings
    left join quarter_changes
        on quarter_changes.quarter_start = quarter_openings.quarter_start
),

retention_quarterly as (
    select
        start_cohorts.quarter_start as period_start,
        {{ safe_ratio('start_cohorts.retained_customers', 'start_cohorts.customers_start') }}
            as customer_retention_rate,
        {{ safe_ratio('start_cohorts.mrr_end', 'start_cohorts.mrr_start') }} as net_revenue_retention,
        {{ safe_ratio('start_cohorts.mrr_end_capped', 'start_cohorts.mrr_start') }}
            as gross_revenue_retention
    from start_cohorts
),

{%- for model, grain in needed %}
{{ semantic_cte_name(model, grain) }} as (
    {{ semantic_model_cte(model, grain) }}
),
{% endfor %}

leads_quarter_sums as (
    select
        {{ quarter_start('month') }} as period_start,
        sum(qualified_leads) as qualified_leads
    from leads
    group by {{ quarter_start('month') }}
),

leads_quarterly as (
    select
        this_quarter.period_start,
        {{ safe_ratio('100 * (this_quarter.qualified_leads - previous_quarter.qualified_leads)',
                           'previous_quarter.qualified_leads') }} as lead_velocity_rate_pct
    from leads_quarter_sums as this_quarter
    left join leads_quarter_sums as previous_quarter
        on previous_quarter.period_start = {{ add_months('this_quarter.period_start', -3) }}
),

long_form as (
    {%- if execute %}
    {%- for kpi, grain, expression in compiled %}
    select
        {{ sql_literal(kpi) }} as kpi,
        {{ sql_literal(grain) }} as grain,
        {{ metric_period(expression.models) }} as period_start,
        cast({{ expression.sql }} as double) as actual
    {{ metric_from(expression, grain) }}
    union all
    {%- endfor %}
    {%- for relation, kpis in quarterly_here.items() %}
    {{ scorecard_unpivot(relation, 'quarter', kpis) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as kpi,
        cast(null as {{ dbt.type_string() }}) as grain,
        cast(null as date) as period_start,
        cast(null as double) as actual
    {%- endif %}
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
