{#- A setting the pipeline passes in an environment variable, DBT_<NAME> (the slice's days,
    the as-of date): values that change from run to run would make dbt re-parse the whole
    project if they were --vars. A --vars value of the same name wins (manual runs).
    Read at run time only (`execute`): an environment variable read while dbt parses is
    recorded, and a new value makes dbt re-parse every file that read it (the two
    incremental models on every nightly run, the as-of models on every change of as-of
    date, in each of the two dbt steps). While parsing, the value is none; nothing a model
    refs or configures depends on it. -#}
{% macro run_param(name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value | string == '' -%}
        {%- set value = env_var('DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(none if value is none or value | string == '' else value | string) }}
{%- endmacro %}
