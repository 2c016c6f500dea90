{#- A setting the pipeline passes in an environment variable, DBT_<NAME> (the slice's days,
    the as-of date): values that change from run to run would make dbt re-parse the whole
    project if they were --vars. A --vars value of the same name wins (manual runs). -#}
{% macro run_param(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value | string == '' -%}
        {%- set value = env_var('DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(none if value is none or value | string == '' else value | string) }}
{%- endmacro %}
