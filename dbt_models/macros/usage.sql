{#- Helpers of the usage, growth and satisfaction marts (docs/METRICS.md: Usage, Satisfaction,
    Growth and delivery). Portable SQL unless dispatched; DuckDB variants are `duckdb__`. -#}

{#- A list var given as a YAML list or as comma-separated text ('a, b'). -#}
{% macro usage_list_var(name) -%}
    {%- set value = var(name, []) -%}
    {%- if value is none -%}
        {%- set value = [] -%}
    {%- elif value is string -%}
        {%- set value = value.split(',') | map('trim') | reject('equalto', '') | list -%}
    {%- endif -%}
    {{ return(value | list) }}
{%- endmacro %}

{#- True for an event that makes its user active: its name is not in `passive_events`.
    (The caller also requires a user_id: anonymous visitors are never active users.) -#}
{% macro usage_is_active_event(event_name) -%}
    {%- set passive = usage_list_var('passive_events') -%}
    {%- if passive | length == 0 -%}
        1 = 1
    {%- else -%}
        {{ event_name }} not in ({% for name in passive %}{{ sql_literal(name) }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Monday of the ISO week of a DATE, as a DATE (DuckDB and Spark both start weeks on Monday). -#}
{% macro usage_week_start(d) -%}
    cast({{ dbt.date_trunc('week', d) }} as date)
{%- endmacro %}

{#- First day of the `datepart` (day, week, month) period holding DATE d. -#}
{% macro usage_period_start(datepart, d) -%}
    {%- if datepart == 'day' -%}{{ d }}
    {%- elif datepart == 'week' -%}{{ usage_week_start(d) }}
    {%- elif datepart == 'month' -%}{{ month_start(d) }}
    {%- else -%}{{ exceptions.raise_compiler_error("usage_period_start: unsupported datepart " ~ datepart) }}
    {%- endif -%}
{%- endmacro %}

{#- A continuous series of periods, column `period_start` (DATE): start_date, start_date + 1
    period, ... while <= end_date. The bounds are columns of the one-row `bounds_relation`
    (a CTE name); NULL bounds give no rows (empty warehouse). Portable: a fixed-size number
    series (dbt.generate_series), cut at end_date. Spark: sequence() exploded (a number
    series of 17 cross joins costs Spark seconds of planning); the same rows. -#}
{% macro usage_period_spine(datepart, start_date, end_date, bounds_relation, max_periods=100000) -%}
    {{ return(adapter.dispatch('usage_period_spine', 'product_metrics')(datepart, start_date, end_date, bounds_relation, max_periods)) }}
{%- endmacro %}

{% macro default__usage_period_spine(datepart, start_date, end_date, bounds_relation, max_periods=100000) -%}
    {%- if datepart == 'week' -%}
        {%- set unit, step = 'day', '7 * (series.generated_number - 1)' -%}
    {%- else -%}
        {%- set unit, step = datepart, 'series.generated_number - 1' -%}
    {%- endif -%}
    select cast({{ dbt.dateadd(unit, step, start_date) }} as date) as period_start
    from {{ bounds_relation }}
    cross join ({{ dbt.generate_series(max_periods) }}) as series
    where {{ dbt.dateadd(unit, step, start_date) }} <= {{ end_date }}
{%- endmacro %}

{% macro spark__usage_period_spine(datepart, start_date, end_date, bounds_relation, max_periods=100000) -%}
    {%- set step = {'day': 'interval 1 day', 'week': 'interval 7 days', 'month': 'interval 1 month'} -%}
    {%- if datepart not in step -%}
        {{ exceptions.raise_compiler_error("usage_period_spine: unsupported datepart " ~ datepart) }}
    {%- endif -%}
    select spine.period_start
    from {{ bounds_relation }}
    lateral view explode(
        case when {{ start_date }} <= {{ end_date }} then
            sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), {{ step[datepart] }})
        end
    ) spine as period_start
{%- endmacro %}

{#- Last day a user-day on `activity_date` keeps its user in a `window_days` rolling count,
    plus one (exclusive end): the next active day of the same user if it comes sooner,
    so that one user's coverage intervals never overlap (see product_usage_daily). -#}
{% macro usage_coverage_end(activity_date, next_activity_date, window_days) -%}
    case
        when {{ next_activity_date }} < {{ add_days(activity_date, window_days) }}
            then {{ next_activity_date }}
        else {{ add_days(activity_date, window_days) }}
    end
{%- endmacro %}

{#- True when DATE `event_date` lies within `window_days` days of DATE `start_date`, in
    reporting-time-zone days, both ends included: from the start day (day 0) through day
    `window_days` (docs/METRICS.md, Usage: activation and funnel windows; the reading is in
    docs/metrics_notes_product.md). Whole days, like payment terms: a sign-up on Mar 1
    activates in time through the end of Mar 8 for a 7-day window. -#}
{% macro usage_within_days(event_date, start_date, window_days) -%}
    ({{ event_date }} >= {{ start_date }}
        and {{ event_date }} <= {{ add_days(start_date, window_days | int) }})
{%- endmacro %}
