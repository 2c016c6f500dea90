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


{#- The day whose end closes a period of `months` months starting `period_start`: its last
    day, or `as_of_date` when that comes first (the period is month- or quarter-to-date). -#}
{% macro period_closing_date(period_start, months, as_of_date) -%}
    case
            when {{ add_days(add_months(period_start, months), -1) }} > {{ as_of_date }}
                then {{ as_of_date }}
            else {{ add_days(add_months(period_start, months), -1) }}
        end
{%- endmacro %}

{#- A customer's dimensions as published, from its stg_crm__customers row `customers`: each
    of `columns` as landed, 'unknown' when missing (also for a customer missing from
    customers; docs/METRICS.md, Dimensions). -#}
{% macro customer_dimensions(customers='customers', columns=['segment', 'region', 'acquisition_channel']) -%}
    {%- for column in columns %}
        {%- if not loop.first %},
        {% endif -%}
        coalesce({{ customers }}.{{ column }}, 'unknown') as {{ column }}
    {%- endfor %}
{%- endmacro %}


{#- The months (their int_revenue_months.month_number) at whose closing instant a value holds
    when it holds from the end of `from_date` until `until_date` (NULL: through the last
    month): first_number .. last_number, none when last_number < first_number. The month of
    `until_date` is not held: its closing instant is on or after that day. `grid`: a relation
    with the months' first_month and month_count. -#}
{% macro revenue_month_span(from_date, until_date, grid='grid') -%}
    {{ dbt.datediff(grid ~ '.first_month', month_start(from_date), 'month') }} + 1 as first_number,
        least(
            {{ dbt.datediff(grid ~ '.first_month', month_start(until_date), 'month') }},
            {{ grid }}.month_count
        ) as last_number
{%- endmacro %}


{#- Levels from changes, month by month: `changes` is a relation with the `groups` columns, a
    month_number (int_revenue_months') and change columns, each change taking effect in its
    month (a run of months is +x in its first month and -x after its last). One row per
    group and month of `months` (int_revenue_months): month, month_number, the groups, and
    for each `levels` entry (level name: change column) the sum of the group's changes up
    to and including the month. A change after the last month is never reached. Runs of
    month boundaries become monthly figures this way, linear in the runs
    (int_mrr_bridge_monthly, customer_cohorts_monthly, mrr_by_plan_monthly). -#}
{% macro running_month_levels(changes, groups, levels, months='months') -%}
    select
        month_grid.month,
        month_grid.month_number,
        {%- for group in groups %}
        group_values.{{ group }},
        {%- endfor %}
        {%- for level, change in levels.items() %}
        sum(coalesce({{ changes }}.{{ change }}, 0)) over (
            partition by {% for group in groups %}group_values.{{ group }}{{ ', ' if not loop.last }}{% endfor %}
            order by month_grid.month_number
            rows between unbounded preceding and current row
        ) as {{ level }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (select distinct {{ groups | join(', ') }} from {{ changes }}) as group_values
    cross join {{ months }} as month_grid
    left join {{ changes }}
        on {{ changes }}.month_number = month_grid.month_number
        {%- for group in groups %}
        and {{ changes }}.{{ group }} = group_values.{{ group }}
        {%- endfor %}
{%- endmacro %}
