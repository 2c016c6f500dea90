{#- The config of a model rebuilt for a window of days (the `min_date`/`max_date` vars of a
    partitioned run), the same on both engines:
        {{ config(**incremental_by_day_config('activity_date', ['user_id', 'activity_date'])) }}
    The model's `{% if is_incremental() %}` filter selects the window; the strategy replaces
    what the window produced:
    - DuckDB: delete+insert on `unique_key`;
    - Spark, Parquet tables (the default): insert_overwrite partitioned by `day_column`, so
      the days the run produced are replaced whole (dynamic partition overwrite). Spark
      puts a partition column last in the table: select columns by name downstream;
    - Spark, Delta tables (DBT_SPARK_FILE_FORMAT=delta): merge on `unique_key`.
    Parquet offers only append and insert_overwrite; merge needs Delta (or Iceberg). -#}
{% macro incremental_by_day_config(day_column, unique_key) -%}
    {{ return(adapter.dispatch('incremental_by_day_config', 'product_metrics')(day_column, unique_key)) }}
{%- endmacro %}

{% macro default__incremental_by_day_config(day_column, unique_key) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': unique_key}) }}
{%- endmacro %}

{% macro spark__incremental_by_day_config(day_column, unique_key) -%}
    {%- if env_var('DBT_SPARK_FILE_FORMAT', 'parquet') == 'delta' -%}
        {{ return({'materialized': 'incremental', 'incremental_strategy': 'merge',
                   'unique_key': unique_key, 'file_format': 'delta'}) }}
    {%- else -%}
        {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite',
                   'partition_by': [day_column], 'file_format': 'parquet'}) }}
    {%- endif -%}
{%- endmacro %}
