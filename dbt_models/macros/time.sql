{#- Day boundaries are taken in the reporting time zone (docs/METRICS.md, Conventions: Days).
    Input: a naive TIMESTAMP holding UTC. Output: the DATE it falls on in `reporting_timezone`. -#}
{% macro to_reporting_date(ts) -%}
    {{ return(adapter.dispatch('to_reporting_date', 'product_metrics')(ts)) }}
{%- endmacro %}

{% macro default__to_reporting_date(ts) -%}
    cast(from_utc_timestamp({{ ts }}, '{{ var("reporting_timezone") }}') as date)
{%- endmacro %}

{% macro duckdb__to_reporting_date(ts) -%}
    {#- Raw timestamps are naive UTC: in UTC the date is the timestamp's own (no zone lookup). -#}
    {%- if var("reporting_timezone") == 'UTC' -%}
    cast({{ ts }} as date)
    {%- else -%}
    cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ ts }})) as date)
    {%- endif -%}
{%- endmacro %}

{#- The UTC timestamp at which local day `d` (a DATE in the reporting time zone) starts. -#}
{% macro reporting_day_start_utc(d) -%}
    {{ return(adapter.dispatch('reporting_day_start_utc', 'product_metrics')(d)) }}
{%- endmacro %}

{% macro default__reporting_day_start_utc(d) -%}
    to_utc_timestamp(cast({{ d }} as timestamp), '{{ var("reporting_timezone") }}')
{%- endmacro %}

{% macro duckdb__reporting_day_start_utc(d) -%}
    timezone('UTC', timezone('{{ var("reporting_timezone") }}', cast({{ d }} as timestamp)))
{%- endmacro %}

{#- First day of the month of a DATE, as a DATE (date_trunc returns a timestamp on DuckDB 2.0). -#}
{% macro month_start(d) -%}
    cast({{ dbt.date_trunc('month', d) }} as date)
{%- endmacro %}

{% macro quarter_start(d) -%}
    cast({{ dbt.date_trunc('quarter', d) }} as date)
{%- endmacro %}

{#- TIMESTAMP ts plus n days, exact to the microsecond. Spark's dbt.dateadd goes through
    unix seconds and drops the fraction of a second, so Spark adds an interval instead. -#}
{% macro timestamp_add_days(ts, n) -%}
    {{ return(adapter.dispatch('timestamp_add_days', 'product_metrics')(ts, n)) }}
{%- endmacro %}

{% macro default__timestamp_add_days(ts, n) -%}
    {{ dbt.dateadd('day', n, ts) }}
{%- endmacro %}

{% macro spark__timestamp_add_days(ts, n) -%}
    timestampadd(DAY, {{ n }}, {{ ts }})
{%- endmacro %}
