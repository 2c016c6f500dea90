{#- Generic tests of the usage, growth and satisfaction marts. -#}

{#- Rows where a boolean SQL expression over the row is false (NULL passes). Under a column,
    the expression is still written in full. -#}
{% test usage_expression_is_true(model, expression, column_name=none) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- The series in `column_name` (DATEs at the start of `datepart` periods) has no gap.
    `partition_by`: columns whose values each carry their own series. Where it ends is
    `ends_by_the_as_of_period`'s business (macros/tests/generic_tests.sql). -#}
{% test usage_continuous_periods(model, column_name, datepart, partition_by=[]) %}
    {%- set partition = partition_by | join(', ') -%}
    with

    ordered as (
        select
            {{ column_name }} as period_start,
            lag({{ column_name }}) over (
                {% if partition %}partition by {{ partition }}{% endif %} order by {{ column_name }}
            ) as previous_period_start
        from {{ model }}
    ),

    failures as (
        select *
        from ordered
        where previous_period_start is not null
            and period_start <> {% if datepart == 'day' -%}
                {{ usage_add_days('previous_period_start', 1) }}
            {%- elif datepart == 'week' -%}
                {{ usage_add_days('previous_period_start', 7) }}
            {%- else -%}
                cast({{ dbt.dateadd(datepart, 1, 'previous_period_start') }} as date)
            {%- endif %}
    )

    select * from failures
{% endtest %}
