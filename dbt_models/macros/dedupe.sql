{#- One row per key. `order_by` picks the survivor (first row in that order).
    Landing rules (docs/LANDING.md): duplicates with the same content count once, so any
    survivor is right; for customers the last landed row wins (order by _file desc, _line desc).
    The result has the relation's columns plus `_dedupe_rank` (always 1). -#}
{#- Tried and dropped: passing the keys seen once through (an anti join on a grouped
    count) and ranking only the repeated ones. 30% faster at 10 million events, but at 100
    million under a 2GB DuckDB memory_limit it ran out of memory, where this window spills
    and completes (bench/RESULTS.md). -#}
{#- `unique_unless`: a table (the relation's source) to ask first whether any key repeats in
    it (`repeated_keys`): when none does, no key repeats in the relation either, every row is
    its key's only row and the window is left out, with the same result. Repeated keys are
    rare (ingestion keeps only copies with the same content), and the question is one hash
    aggregate, which spills like the window: at a million subscriptions ~0.5 s instead of
    ~2.5 s for the window, at 10 million events ~1.7 s instead of ~6.5 s. -#}
{% macro dedupe(relation, key_columns, order_by='_file, _line', unique_unless=none) -%}
    {%- if unique_unless is not none and not repeated_keys(unique_unless, key_columns) -%}
    select *, cast(1 as bigint) as _dedupe_rank from {{ relation }}
    {%- else -%}
    select *
    from (
        select
            src.*,
            row_number() over (partition by {{ key_columns | join(', ') }} order by {{ order_by }}) as _dedupe_rank
        from {{ relation }} as src
    ) as ranked
    where _dedupe_rank = 1
    {%- endif -%}
{%- endmacro %}

{#- A staging model's import of its landed source table `raw.<table>`: one row per key
    (`dedupe` above, asking the table first) when `key_columns` are given, else every
    landed row. -#}
{% macro landed(table, key_columns=none, order_by='_file, _line') -%}
    {%- if key_columns -%}
    {{ dedupe(source('raw', table), key_columns, order_by, unique_unless=source('raw', table)) }}
    {%- else -%}
    select * from {{ source('raw', table) }}
    {%- endif -%}
{%- endmacro %}

{#- Whether a key of `relation` is held by more than one row. True when it cannot be known
    (parsing, or the table does not exist yet), so that callers keep their dedupe. -#}
{% macro repeated_keys(relation, key_columns) -%}
    {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set found = run_query(
        "select count(*) from (select " ~ keys ~ " from " ~ relation
        ~ " group by " ~ keys ~ " having count(*) > 1) as repeated") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
