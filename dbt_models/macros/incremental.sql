{#- Incremental models rebuilt by slice (stg_product__events, int_user_activity_daily).

    A run rebuilds a *slice* of the table: the days of its window (`min_date` ..
    `max_date`, inclusive, reporting time zone: the Dagster partitions of the run) and
    every key that the ingestion batches `changes_after` < batch_id <= `changes_through`
    touched (incremental.changed_product_events), whatever day it belongs to. The slice's
    rows are deleted (pre-hooks `delete_slice`) and rebuilt from upstream in the same
    transaction, so late events are counted in the day they occurred however late they
    land, and rows that disappeared upstream (quarantined afterwards) go too.

    The values come from --vars when given (manual runs, tests), else from the
    environment (DBT_MIN_DATE, DBT_MAX_DATE, DBT_CHANGES_AFTER, DBT_CHANGES_THROUGH), which
    is how the pipeline passes them: read at run time only, they do not change dbt's
    vars, so dbt keeps parsing the project partially from night to night. With neither a
    window nor a batch range an incremental run replaces the whole table. -#}

{% macro slice_param(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value | string == '' -%}
        {%- set value = env_var('DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(none if value is none or value | string == '' else value | string) }}
{%- endmacro %}

{#- Is anything but the whole table asked for? -#}
{% macro slice_is_bounded() -%}
    {{ return(slice_param('min_date') is not none or slice_param('changes_through') is not none) }}
{%- endmacro %}

{#- `date_column` is in the window (false without a window). -#}
{% macro slice_window_days(date_column) -%}
    {%- set lo, hi = slice_param('min_date'), slice_param('max_date') -%}
    {%- if lo is none or hi is none -%}
        (1 = 0)
    {%- else -%}
        ({{ date_column }} between cast('{{ lo }}' as date) and cast('{{ hi }}' as date))
    {%- endif -%}
{%- endmacro %}

{#- The changed-rows log restricted to the batches of this run. -#}
{% macro slice_changes(relation) -%}
    {%- set after, through = slice_param('changes_after') or '0', slice_param('changes_through') -%}
    {%- if through is none -%}
        (select * from {{ relation }} where 1 = 0)
    {%- else -%}
        (select * from {{ relation }}
         where batch_id > {{ after | int }} and batch_id <= {{ through | int }})
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

{#- Product events of the window's days. `date_expr` is the event's reporting day;
    `utc_column`, when given, its UTC timestamp, which is also bounded by literals a day
    wider than the window (a reporting day lies within 14 hours of the UTC day), so that
    the scan skips row groups by their min/max before any time zone is converted. -#}
{% macro product_events_in_window(date_expr, utc_column=none) -%}
    {%- set lo, hi = slice_param('min_date'), slice_param('max_date') -%}
    {%- if lo is none or hi is none -%}
        (1 = 0)
    {%- else -%}
        {%- set one_day = modules.datetime.timedelta(days=1) -%}
        {%- set first = modules.datetime.date.fromisoformat(lo) - one_day -%}
        {%- set after = modules.datetime.date.fromisoformat(hi) + one_day + one_day -%}
        ({% if utc_column is not none -%}
        {{ utc_column }} >= cast('{{ first.isoformat() }} 00:00:00' as timestamp)
        and {{ utc_column }} < cast('{{ after.isoformat() }} 00:00:00' as timestamp)
        and {% endif -%}
        {{ slice_window_days(date_expr) }})
    {%- endif -%}
{%- endmacro %}

{#- Product events whose id the run's batches touched. -#}
{% macro product_events_changed(id_column='event_id') -%}
    ({{ id_column }} in (
        select event_id from {{ slice_changes(changed_product_events()) }} as changed
    ))
{%- endmacro %}

{#- User-days an event touched by the run's batches belongs, or belonged, to (its old and
    new versions: a day can lose an event too). -#}
{% macro user_days_touched(user_column, date_column) -%}
    (({{ user_column }}, {{ date_column }}) in (
        select user_id, {{ to_reporting_date('occurred_at') }}
        from {{ slice_changes(changed_product_events()) }} as changed
        where user_id is not null and occurred_at is not null
    ))
{%- endmacro %}

{#- The change log ingestion writes beside raw.product_events (dagster_project/ingest/
    changes.py): one row per product-event row a batch re-derived (batch_id, event_id,
    user_id, occurred_at). Not a dbt source: in the lineage it is part of the
    raw/product_events asset that writes it. -#}
{% macro changed_product_events() -%}
    {{ return(api.Relation.create(database=target.database, schema='incremental',
                                  identifier='changed_product_events')) }}
{%- endmacro %}
