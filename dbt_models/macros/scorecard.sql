{#- The KPI scorecard's business rules (docs/METRICS.md, KPI scorecard; docs/metrics_notes_sales.md).
    Portable SQL (DuckDB and Spark): nothing here needs a DuckDB-only construct. -#}

{#- The KPI registry: every KPI a target in seeds/kpi_targets.csv may name, its unit (for
    display) and its quarterly rule in words. Each is a metric of the semantic layer
    (models/semantic/_metrics.yml), which defines it. Both grains (month, quarter) exist for
    every KPI; kpi_actuals unpivots exactly these names, and the singular test
    tests/scorecard/assert_kpi_targets_name_registered_kpis fails the build on any other. -#}
{% macro scorecard_kpi_registry() -%}
    {{ return([
        {'kpi': 'mrr', 'unit': 'money', 'quarterly': 'at the quarter end (mrr_end of its last month)'},
        {'kpi': 'arr', 'unit': 'money', 'quarterly': '12 x mrr at the quarter end'},
        {'kpi': 'mrr_growth_rate', 'unit': 'fraction', 'quarterly': 'net_new_mrr of the quarter / mrr_start of the quarter'},
        {'kpi': 'new_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'expansion_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'reactivation_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'contraction_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'churned_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'net_new_mrr', 'unit': 'money', 'quarterly': 'sum over the quarter (= mrr at the end - mrr at the start)'},
        {'kpi': 'customers', 'unit': 'count', 'quarterly': 'customers_end at the quarter end'},
        {'kpi': 'new_customers', 'unit': 'count', 'quarterly': 'sum over the quarter'},
        {'kpi': 'churned_customers', 'unit': 'count', 'quarterly': 'sum over the quarter'},
        {'kpi': 'arpa', 'unit': 'money', 'quarterly': 'mrr / customers at the quarter end'},
        {'kpi': 'logo_churn_rate', 'unit': 'fraction', 'quarterly': 'churned_customers of the quarter / customers at the quarter start'},
        {'kpi': 'customer_retention_rate', 'unit': 'fraction', 'quarterly': 'customers active at the quarter start and end / customers at the start'},
        {'kpi': 'gross_mrr_churn_rate', 'unit': 'fraction', 'quarterly': '(churned + contraction of the quarter) / mrr at the quarter start'},
        {'kpi': 'net_mrr_churn_rate', 'unit': 'fraction', 'quarterly': '(churned + contraction - expansion - reactivation of the quarter) / mrr at the quarter start'},
        {'kpi': 'net_revenue_retention', 'unit': 'fraction', 'quarterly': 'customers active at the quarter start: their mrr at the quarter end / mrr at the start'},
        {'kpi': 'gross_revenue_retention', 'unit': 'fraction', 'quarterly': 'the same, each end mrr capped at its start mrr'},
        {'kpi': 'quick_ratio', 'unit': 'ratio', 'quarterly': '(new + expansion + reactivation) / (churned + contraction), quarter sums'},
        {'kpi': 'ltv', 'unit': 'money', 'quarterly': 'ltv of the quarter\'s last month'},
        {'kpi': 'sales_marketing_spend', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'cac', 'unit': 'money', 'quarterly': 'spend of the quarter / new customers of the quarter'},
        {'kpi': 'ltv_to_cac', 'unit': 'ratio', 'quarterly': 'ltv (quarter end) / cac (quarter)'},
        {'kpi': 'cac_payback_months', 'unit': 'months', 'quarterly': 'cac (quarter) / ((new_mrr / new_customers of the quarter) x gross_margin)'},
        {'kpi': 'dau', 'unit': 'count', 'quarterly': 'mean daily dau over the quarter\'s days'},
        {'kpi': 'mau', 'unit': 'count', 'quarterly': 'mau on the quarter\'s last reported day'},
        {'kpi': 'dau_mau', 'unit': 'fraction', 'quarterly': 'mean daily stickiness over the quarter\'s days'},
        {'kpi': 'activation_rate', 'unit': 'fraction', 'quarterly': 'activated users / users of the quarter\'s sign-up months'},
        {'kpi': 'nps', 'unit': 'score', 'quarterly': '100 x (promoters - detractors) / responses of the quarter'},
        {'kpi': 'csat', 'unit': 'fraction', 'quarterly': 'satisfied responses / responses of the quarter'},
        {'kpi': 'qualified_leads', 'unit': 'count', 'quarterly': 'sum over the quarter'},
        {'kpi': 'lead_velocity_rate_pct', 'unit': 'percent', 'quarterly': '100 x (qualified leads of the quarter - of the previous quarter) / previous quarter'},
        {'kpi': 'lead_to_customer_rate', 'unit': 'fraction', 'quarterly': 'converted leads / leads created in the quarter'},
        {'kpi': 'on_time_release_share', 'unit': 'fraction', 'quarterly': 'on-time releases / shipped releases with a plan date in the quarter'},
        {'kpi': 'revenue', 'unit': 'money', 'quarterly': 'sum over the quarter'},
        {'kpi': 'bookings', 'unit': 'money', 'quarterly': 'sum over the quarter (total contract value)'},
        {'kpi': 'bookings_count', 'unit': 'count', 'quarterly': 'sum over the quarter'},
    ]) }}
{%- endmacro %}

{#- Long form (kpi, grain, period_start, actual) of a wide relation holding `period_column`
    and one column per KPI, named as the KPI. One select per KPI, unioned. -#}
{% macro scorecard_unpivot(relation, grain, kpis, period_column='period_start') -%}
    {%- for kpi in kpis %}
    select
        {{ sql_literal(kpi) }} as kpi,
        {{ sql_literal(grain) }} as grain,
        {{ period_column }} as period_start,
        cast({{ kpi }} as double) as actual
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Attainment (docs/METRICS.md, KPI scorecard): actual / target, target / actual for
    lower_is_better, whenever the ratio keeps its meaning:
      higher_is_better: target > 0 -> actual / target;
                        target < 0 and actual < 0 -> target / actual;
      lower_is_better:  target > 0 and actual > 0 -> target / actual;
                        target < 0 -> actual / target;
    else (target = 0, or the signs make the ratio say the opposite of the truth) NULL, and
    the status compares actual with target directly (scorecard_status). NULL actual -> NULL. -#}
{% macro scorecard_attainment(actual, target, direction) -%}
    case
        when {{ actual }} is null or {{ target }} is null then null
        when {{ direction }} = 'lower_is_better' then
            case
                when {{ target }} > 0 and {{ actual }} > 0
                    then cast({{ target }} as double) / cast({{ actual }} as double)
                when {{ target }} < 0
                    then cast({{ actual }} as double) / cast({{ target }} as double)
            end
        else
            case
                when {{ target }} > 0
                    then cast({{ actual }} as double) / cast({{ target }} as double)
                when {{ target }} < 0 and {{ actual }} < 0
                    then cast({{ target }} as double) / cast({{ actual }} as double)
            end
    end
{%- endmacro %}

{#- Status: no_data when the actual is NULL; on_track when attainment >= 1; at_risk when
    attainment >= 1 - tolerance (NULL tolerance = 0); else off_track. When attainment is
    NULL with an actual (see scorecard_attainment) there is no relative shortfall to weigh:
    on_track if the actual meets the target, else off_track. -#}
{% macro scorecard_status(actual, target, direction, tolerance, attainment) -%}
    case
        when {{ actual }} is null then 'no_data'
        when {{ attainment }} is null then
            case
                when {{ direction }} = 'lower_is_better' and {{ actual }} <= {{ target }} then 'on_track'
                when {{ direction }} <> 'lower_is_better' and {{ actual }} >= {{ target }} then 'on_track'
                else 'off_track'
            end
        when {{ attainment }} >= 1 then 'on_track'
        when {{ attainment }} >= 1 - coalesce({{ tolerance }}, 0) then 'at_risk'
        else 'off_track'
    end
{%- endmacro %}

{#- The start of the period before: a month or a quarter earlier, as a DATE. -#}
{% macro scorecard_previous_period(grain, period_start) -%}
    case
        when {{ grain }} = 'quarter' then cast({{ dbt.dateadd('month', -3, period_start) }} as date)
        else cast({{ dbt.dateadd('month', -1, period_start) }} as date)
    end
{%- endmacro %}

{#- 'YYYY-MM' for a month, 'YYYY-Qn' for a quarter. -#}
{% macro scorecard_period_label(grain, period_start) -%}
    case
        when {{ grain }} = 'quarter' then {{ dbt.concat([
            "cast(extract(year from " ~ period_start ~ ") as " ~ dbt.type_string() ~ ")",
            "'-Q'",
            "cast(cast(floor((extract(month from " ~ period_start ~ ") + 2) / 3) as integer) as " ~ dbt.type_string() ~ ")",
        ]) }}
        else {{ dbt.concat([
            "cast(extract(year from " ~ period_start ~ ") as " ~ dbt.type_string() ~ ")",
            "'-'",
            "lpad(cast(extract(month from " ~ period_start ~ ") as " ~ dbt.type_string() ~ "), 2, '0')",
        ]) }}
    end
{%- endmacro %}
