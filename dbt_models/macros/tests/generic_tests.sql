{#- Generic tests the project needs beyond dbt's own (no hub packages here). A model's rules
    that look at that model alone are one `model_rules` test (macros/tests/model_rules.sql);
    the tests here read another model too. -#}

{#- The series in `column_name` (DATEs at the start of `datepart` periods: day or month)
    never passes the as-of period (int_as_of_date's day, or its month); with `reaches`, a
    non-empty series also ends exactly there. With a `continuous` rule (no gap; model_rules) this
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
