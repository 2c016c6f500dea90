{#- Generic tests the project needs beyond dbt's four (no hub packages here). -#}

{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test positive_value(model, column_name) %}
    select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}

{% test value_between(model, column_name, min_value=none, max_value=none) %}
    select * from {{ model }}
    where {{ column_name }} is not null and (
        1 = 0
        {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
        {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
    )
{% endtest %}

{#- Model-level tests that check many columns in one scan (one test node per model instead of
    one per column: dbt's fixed cost per node dominates these cheap checks). Each returns one
    row per broken column, `failing_column` and `failing_rows` (its count of bad rows), and
    fails when a row is returned; `fail_calc` makes dbt's failure count the bad rows (summed
    over the columns), as the one-column tests they replace counted them. -#}

{#- Columns with NULLs (as dbt's not_null). `columns`: the column names. -#}
{% test columns_not_null(model, columns) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- set checks = [] -%}
    {%- for column in columns -%}
        {%- do checks.append((column, column ~ ' is null')) -%}
    {%- endfor -%}
    {{ failing_columns(model, checks) }}
{% endtest %}

{#- Columns with values outside their inclusive bounds (NULL passes, as value_between).
    `ranges`: a list of {column, min_value, max_value}; a missing bound is not checked. -#}
{% test columns_between(model, ranges) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- set checks = [] -%}
    {%- for bound in ranges -%}
        {%- set outside = [] -%}
        {%- if bound.min_value is defined and bound.min_value is not none -%}
            {%- do outside.append(bound.column ~ ' < ' ~ bound.min_value) -%}
        {%- endif -%}
        {%- if bound.max_value is defined and bound.max_value is not none -%}
            {%- do outside.append(bound.column ~ ' > ' ~ bound.max_value) -%}
        {%- endif -%}
        {%- if bound.column is not defined or not outside -%}
            {{ exceptions.raise_compiler_error("columns_between on " ~ model ~ ": each range needs a column and a min_value or max_value; got " ~ bound) }}
        {%- endif -%}
        {%- do checks.append((bound.column, bound.column ~ ' is not null and (' ~ (outside | join(' or ')) ~ ')')) -%}
    {%- endfor -%}
    {{ failing_columns(model, checks) }}
{% endtest %}

{#- `checks`: (column, condition of a bad row) pairs. One scan counts each condition; the
    counts become one row per column with at least one bad row. -#}
{% macro failing_columns(model, checks) %}
    with

    counts as (
        select
            {%- for column, condition in checks %}
            count(case when {{ condition }} then 1 end) as failing_rows_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ model }}
    ),

    per_column as (
        {%- for column, condition in checks %}
        select '{{ column }}' as failing_column, failing_rows_{{ loop.index }} as failing_rows from counts
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    )

    select * from per_column where failing_rows > 0
{% endmacro %}

{#- The series in `column_name` (DATEs at the start of `datepart` periods: day or month)
    never passes the as-of period (int_as_of_date's day, or its month); with `reaches`, a
    non-empty series also ends exactly there. Together with a continuity test (no gap) this
    states "a continuous calendar through the as-of date". -#}
{% test ends_by_the_as_of_period(model, column_name, datepart, reaches=false) %}
    with

    as_of as (
        select cast({{ dbt.date_trunc(datepart, 'as_of_date') }} as date) as as_of_period
        from {{ ref('int_as_of_date') }}
    ),

    series as (
        select max({{ column_name }}) as last_period from {{ model }}
    ),

    failures as (
        select series.last_period, as_of.as_of_period
        from series
        cross join as_of
        where series.last_period > as_of.as_of_period
            {% if reaches -%}
            or series.last_period < as_of.as_of_period
            {%- endif %}
    )

    select * from failures
{% endtest %}

{#- Rows where a boolean SQL expression over the row is false (NULL passes unless
    `null_fails`). Under a column the expression is still written in full. -#}
{% test expression_is_true(model, expression, column_name=none, null_fails=false) %}
    select *
    from {{ model }}
    where {% if null_fails %}not coalesce({{ expression }}, false){% else %}not ({{ expression }}){% endif %}
{% endtest %}

{#- The series in `column_name` (DATEs at the start of `datepart` periods: day, week, month)
    has no gap. `partition_by`: columns whose values each carry their own series. Where it
    ends is `ends_by_the_as_of_period`'s business. -#}
{% test continuous_periods(model, column_name, datepart, partition_by=[]) %}
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
                {{ add_days('previous_period_start', 1) }}
            {%- elif datepart == 'week' -%}
                {{ add_days('previous_period_start', 7) }}
            {%- elif datepart == 'month' -%}
                {{ add_months('previous_period_start', 1) }}
            {%- else -%}
                cast({{ dbt.dateadd(datepart, 1, 'previous_period_start') }} as date)
            {%- endif %}
    )

    select * from failures
{% endtest %}
