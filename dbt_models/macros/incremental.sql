{#- Incremental models rebuilt by day (stg_product__events, int_user_activity_daily).

    A run rebuilds a *slice*: whole days, in the reporting time zone. They are the days of
    its window (`min_date` .. `max_date`, inclusive: the Dagster partitions of the run) and
    the `extra_days` on which the events of the run's new ingestion batches occurred,
    however long ago (the pipeline computes them from incremental.changed_product_events:
    dagster_project/transform/incremental.py). Every row of a slice day is rebuilt
    from upstream, so a late event counts on the day it occurred, and an event that left
    upstream (a later conflicting copy got both quarantined) leaves its day too.

    The values come from --vars when given (manual runs, tests), else from the
    environment (DBT_MIN_DATE, DBT_MAX_DATE, DBT_EXTRA_DAYS: comma-separated), which is how
    the pipeline passes them: read at run time only, they do not change dbt's vars, so dbt
    keeps parsing the project partially from night to night. An incremental run with no
    window and no extra days replaces the whole table.

    The config of such a model, the same on both engines:
        {{ config(**incremental_by_day_config('activity_date', ['user_id', 'activity_date'])) }}
    - DuckDB: append, after a pre-hook deleted the slice's days (`delete_slice`), in the
      model's transaction: the days the slice names are replaced whole, even a day that
      ends up with no rows;
    - Spark, Parquet tables (the default): insert_overwrite partitioned by `day_column`, so
      the days the run produced are replaced whole (dynamic partition overwrite). Spark
      puts a partition column last in the table: select columns by name downstream;
    - Spark, Delta tables (DBT_SPARK_FILE_FORMAT=delta): merge on `unique_key`.
    Parquet offers only append and insert_overwrite; merge needs Delta (or Iceberg). -#}
{% macro incremental_by_day_config(day_column, unique_key) -%}
    {{ return(adapter.dispatch('incremental_by_day_config', 'product_metrics')(day_column, unique_key)) }}
{%- endmacro %}

{% macro default__incremental_by_day_config(day_column, unique_key) -%}
    {#- The hook text is rendered at run time, when the slice is known. -#}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append',
               'pre_hook': ["{{ delete_slice(slice_days_predicate('" ~ day_column ~ "')) }}"]}) }}
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

{#- The slice's days as sorted, merged [first, last] ranges of ISO dates. -#}
{% macro slice_ranges() -%}
    {%- set lo, hi = run_param('min_date'), run_param('max_date') -%}
    {%- set extra = run_param('extra_days') -%}
    {%- set d = modules.datetime -%}
    {%- set spans = [] -%}
    {%- if lo is not none and hi is not none -%}
        {%- do spans.append([d.date.fromisoformat(lo), d.date.fromisoformat(hi)]) -%}
    {%- endif -%}
    {%- for day in (extra or '').split(',') if day.strip() -%}
        {%- set one = d.date.fromisoformat(day.strip()) -%}
        {%- do spans.append([one, one]) -%}
    {%- endfor -%}
    {%- set merged = [] -%}
    {%- for span in spans | sort(attribute='0') -%}
        {%- if merged and span[0] <= merged[-1][1] + d.timedelta(days=1) -%}
            {%- set last = merged.pop() -%}
            {%- do merged.append([last[0], [last[1], span[1]] | max]) -%}
        {%- else -%}
            {%- do merged.append([span[0], span[1]]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(merged) }}
{%- endmacro %}

{#- Is anything but the whole table asked for? -#}
{% macro slice_is_bounded() -%}
    {{ return(run_param('min_date') is not none or run_param('extra_days') is not none) }}
{%- endmacro %}

{#- May a test of an incremental model look at the run's slice only (model_rules'
    `slice_by`)? Only on a run that rebuilt a slice, and when the pipeline says so
    (DBT_CHECK_SLICE: the same tests ran and passed at the last successful build, so the
    rows outside the slice pass them; dagster_project/transform/incremental.py). -#}
{% macro checks_on_slice() -%}
    {{ return(run_param('check_slice') == '1' and slice_is_bounded()) }}
{%- endmacro %}

{#- `date_expr` (a DATE) is one of the slice's days. -#}
{% macro slice_days_predicate(date_expr) -%}
    {%- set ranges = slice_ranges() -%}
    {%- if not ranges -%}
        (1 = 0)
    {%- else -%}
        ({% for r in ranges %}{% if not loop.first %} or {% endif -%}
        {{ date_expr }} between cast('{{ r[0].isoformat() }}' as date) and cast('{{ r[1].isoformat() }}' as date)
        {%- endfor %})
    {%- endif -%}
{%- endmacro %}

{#- A UTC timestamp within a day of the slice's days (a reporting day lies within 14 hours
    of its UTC day): constant bounds that let the scan skip row groups by min/max before
    any time zone is converted. Pair it with the exact `slice_days_predicate`. -#}
{% macro slice_utc_prefilter(ts_column) -%}
    {%- set ranges = slice_ranges() -%}
    {%- set one_day = modules.datetime.timedelta(days=1) -%}
    {%- if not ranges -%}
        (1 = 0)
    {%- else -%}
        ({% for r in ranges %}{% if not loop.first %} or {% endif -%}
        ({{ ts_column }} >= cast('{{ (r[0] - one_day).isoformat() }} 00:00:00' as timestamp)
         and {{ ts_column }} < cast('{{ (r[1] + one_day + one_day).isoformat() }} 00:00:00' as timestamp))
        {%- endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the slice (`predicate`, in the target's columns) from {{ this }}.
    Runs inside the model's transaction, before its rows are inserted. -#}
{% macro delete_slice(predicate) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ predicate if slice_is_bounded() else '1 = 1' }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
