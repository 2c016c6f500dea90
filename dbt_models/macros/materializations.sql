{#- The `table` materialization on DuckDB, in one statement.

    dbt-duckdb's own builds `<name>__dbt_tmp`, renames the old table to `<name>__dbt_backup`,
    renames the new one into place, looks up the old one's indexes and drops the backup:
    five statements and their round trips through dbt for each of our ~65 tables, which at
    a small landing cost more than the queries themselves (dbt's per-statement overhead
    runs under one Python lock for both threads). DuckDB replaces a table atomically inside
    the model's transaction, so `create or replace table` gives the same result: the old
    table stays readable until the new one commits, and a failing query leaves it as it
    was. What this project does not use is left out (Python models, contracts, indexes,
    foreign keys, grants, persisted docs; a model that needs one is refused, below).
    Other adapters (Spark) keep their own materialization. -#}
{% materialization table, adapter='duckdb', supported_languages=['sql'] %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set contract = config.get('contract') -%}
  {%- if (contract and contract.enforced) or config.get('grants') or config.get('indexes')
        or config.get('persist_docs') -%}
    {{ exceptions.raise_compiler_error(
        "model " ~ this ~ ": the project's lean table materialization "
        ~ "(macros/materializations.sql) supports no contracts, grants, indexes or "
        ~ "persisted docs") }}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if existing_relation is not none and not existing_relation.is_table %}
  {{ drop_relation_if_exists(existing_relation) }}
  {%- endif %}

  {% call statement('main') -%}
    create or replace table {{ target_relation }} as (
      {{ sql }}
    );
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
