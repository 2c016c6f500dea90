{#- Generic tests of the revenue marts (no hub packages here). -#}

{#- Rows where a boolean SQL expression over the row is false (NULL passes unless
    `null_fails`). Under a column the expression is still written in full. -#}
{% test revenue_expression_is_true(model, expression, column_name=none, null_fails=false) %}
    select *
    from {{ model }}
    where {% if null_fails %}not coalesce({{ expression }}, false){% else %}not ({{ expression }}){% endif %}
{% endtest %}

{#- The months in `column_name` (first days of months) have no gap; `partition_by` columns
    each carry their own series. -#}
{% test revenue_continuous_months(model, column_name, partition_by=[]) %}
    {%- set partition = partition_by | join(', ') -%}
    with

    ordered as (
        select
            {{ column_name }} as month,
            lag({{ column_name }}) over (
                {% if partition %}partition by {{ partition }}{% endif %} order by {{ column_name }}
            ) as previous_month
        from {{ model }}
    ),

    failures as (
        select *
        from ordered
        where previous_month is not null
            and month <> {{ revenue_add_months('previous_month', 1) }}
    )

    select * from failures
{% endtest %}

{#- Money columns that should reconcile: rows where abs(left - right) >= 0.005 (to the cent)
    or either side is NULL. -#}
{% test revenue_equal_to_the_cent(model, left, right, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(abs(({{ left }}) - ({{ right }})) < 0.005, false)
{% endtest %}
