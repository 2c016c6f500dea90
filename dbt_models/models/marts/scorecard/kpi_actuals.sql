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

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

saas as (
    select * from {{ ref('saas_metrics_monthly') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

leads as (
    select * from {{ ref('leads_monthly') }}
),

saas_quarters as (
    select distinct {{ quarter_start('month') }} as quarter_start
    from saas
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
        saas_quarters.quarter_start,
        {{ add_days('saas_quarters.quarter_start', -1) }} as opening_date,
        {{ period_closing_date('saas_quarters.quarter_start', 3, 'as_of.as_of_date') }} as closing_date
    from saas_quarters
    cross join as_of
),

customers_at_opening as (
    {{ customers_with_mrr_at('quarter_instants', 'quarter_start', 'opening_date', 'movement_intervals', 'mrr_start') }}
),

customers_at_closing as (
    {{ customers_with_mrr_at('quarter_instants', 'quarter_start', 'closing_date', 'movement_intervals', 'mrr_end') }}
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
