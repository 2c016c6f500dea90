{#- One row per key. `order_by` picks the survivor (first row in that order).
    Landing rules (DATA_CONTRACT.md): duplicates with the same content count once, so any
    survivor is right; for customers the last landed row wins (order by _file desc, _line desc). -#}
{% macro dedupe(relation, key_columns, order_by='_file, _line') -%}
    select *
    from (
        select
            src.*,
            row_number() over (partition by {{ key_columns | join(', ') }} order by {{ order_by }}) as _dedupe_rank
        from {{ relation }} as src
    ) as ranked
    where _dedupe_rank = 1
{%- endmacro %}
