{#- Business rules and helpers of the revenue marts (docs/METRICS.md: Revenue, Churn and
    retention, Unit economics, Customer cohorts). Portable SQL (DuckDB and Spark); the month
    spine is dispatched (spark__) for speed, not for syntax. -#}

{#- Open end of a validity interval. -#}
{% macro revenue_end_of_time() -%}
    cast('9999-12-31' as date)
{%- endmacro %}

{#- Subscription MRR of one state (docs/METRICS.md, Subscription MRR at an instant t):
    0 when canceled, else max(unit_amount * quantity - discount_amount, 0) / months of the
    billing period, with the amounts already in the reporting currency at the event's rate.
    A DOUBLE; wrap it in to_money() to store it. -#}
{% macro revenue_subscription_mrr(event_type, unit_amount, quantity, discount_amount, billing_period_months) -%}
    case
        when {{ event_type }} = 'canceled' then cast(0 as double)
        else greatest(
            cast({{ unit_amount }} as double) * cast(coalesce({{ quantity }}, 1) as double)
                - cast(coalesce({{ discount_amount }}, 0) as double),
            cast(0 as double)
        ) / cast({{ billing_period_months }} as double)
    end
{%- endmacro %}

{#- Daily movement type (docs/METRICS.md, Daily movement), p = MRR at the end of the day before,
    c = at the end of the day; NULL when p = c (no movement). `was_active_before`: the
    customer's MRR was > 0 at the end of some earlier day. -#}
{% macro revenue_movement_type(p, c, was_active_before) -%}
    case
        when {{ p }} = {{ c }} then null
        when {{ p }} = 0 and not {{ was_active_before }} then 'new'
        when {{ p }} = 0 then 'reactivation'
        when {{ c }} = 0 then 'churn'
        when {{ c }} > {{ p }} then 'expansion'
        else 'contraction'
    end
{%- endmacro %}

{#- The six bridge sums of a set of movements (columns movement_type, amount):
    money exact, counts of new, reactivated and churned customers. -#}
{% macro revenue_movement_sums(type_column='movement_type', amount_column='amount') -%}
    sum(case when {{ type_column }} = 'new' then {{ amount_column }} else 0 end) as new_mrr,
    sum(case when {{ type_column }} = 'expansion' then {{ amount_column }} else 0 end) as expansion_mrr,
    sum(case when {{ type_column }} = 'reactivation' then {{ amount_column }} else 0 end) as reactivation_mrr,
    sum(case when {{ type_column }} = 'contraction' then {{ amount_column }} else 0 end) as contraction_mrr,
    sum(case when {{ type_column }} = 'churn' then {{ amount_column }} else 0 end) as churned_mrr,
    sum(case when {{ type_column }} = 'new' then 1 else 0 end) as new_customers,
    sum(case when {{ type_column }} = 'reactivation' then 1 else 0 end) as reactivated_customers,
    sum(case when {{ type_column }} = 'churn' then 1 else 0 end) as churned_customers
{%- endmacro %}


{#- The MRR bridge's movement columns as published (mrr_movements_monthly and
    saas_metrics_monthly publish them alike), each followed by a comma. -#}
{% macro published_mrr_movements() -%}
{%- for column in ['mrr_start', 'new_mrr', 'expansion_mrr', 'reactivation_mrr',
                   'contraction_mrr', 'churned_mrr', 'mrr_end'] %}
        {{ publish_money(column) }} as {{ column }},
{%- endfor %}
{%- endmacro %}

{#- The MRR bridge's customer counts, in order (int_mrr_bridge_monthly and
    mrr_movements_monthly), each followed by a comma. -#}
{% macro mrr_bridge_customer_counts() -%}
{%- for column in ['customers_start', 'new_customers', 'reactivated_customers',
                   'churned_customers', 'customers_end', 'retained_customers'] %}
        {{ column }},
{%- endfor %}
{%- endmacro %}
