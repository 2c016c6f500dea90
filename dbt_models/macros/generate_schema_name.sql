{#- Use custom schemas verbatim (staging, intermediate, marts, seeds): the published
    tables must be `marts.<name>`, not `main_marts.<name>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
