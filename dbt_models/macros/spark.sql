{#- Spark only: the raw tables. Ingestion (DuckDB) applies the landing contract and writes
    raw.*; for Spark the pipeline exports each raw table to Parquet under the var
    `spark_raw_location` (<location>/<table>/), and this on-run-start hook registers them as
    external tables raw.<table> in the metastore, so that source('raw', ...) resolves on
    both engines. Re-created on every run: a new export may add columns. Nothing to do on
    DuckDB, where the raw tables are in the warehouse already. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'product_metrics')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- set location = var('spark_raw_location', none) -%}
    {%- if execute and location -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
            {%- do run_query('drop table if exists raw.' ~ node.identifier) -%}
            {%- do run_query(
                "create table raw." ~ node.identifier ~ " using parquet location '"
                ~ location.rstrip('/') ~ "/" ~ node.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
