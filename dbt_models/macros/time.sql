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

{#- The periods (`datepart`: day, week or month) from start_period through end_period, one
    row each, as column `column` (DATE: the day, the Monday, the first of the month), cut
    from the one calendar, int_calendar_days. The bounds are expressions over the one-row
    `bounds_relation` (a CTE name); NULL bounds give no rows. -#}
{% macro calendar_spine(datepart, start_period, end_period, bounds_relation, column='period_start') -%}
    {%- set period = {'day': 'date', 'week': 'week_start', 'month': 'month'}.get(datepart) -%}
    {%- if period is none -%}
        {{ exceptions.raise_compiler_error("calendar_spine: unsupported datepart " ~ datepart) }}
    {%- endif -%}
    select calendar.{{ period }} as {{ column }}
    from {{ ref('int_calendar_days') }} as calendar
    cross join {{ bounds_relation }}
    where calendar.date >= {{ start_period }}
        and calendar.date <= {{ end_period }}
        {%- if period != 'date' %}
        and calendar.date = calendar.{{ period }}
        {%- endif %}
{%- endmacro %}

{#- Every day from start_date through end_date, column `period_start` (DATE), for the
    calendar (int_calendar_days). The bounds are columns of the one-row `bounds_relation`;
    NULL bounds give no rows. Portable: a fixed-size number series (dbt.generate_series) cut
    at end_date. Spark: sequence() exploded (a number series of 17 cross joins costs Spark
    seconds of planning); the same rows. -#}
{% macro day_series(start_date, end_date, bounds_relation, max_days=100000) -%}
    {{ return(adapter.dispatch('day_series', 'product_metrics')(start_date, end_date, bounds_relation, max_days)) }}
{%- endmacro %}

{% macro default__day_series(start_date, end_date, bounds_relation, max_days=100000) -%}
    select {{ add_days(start_date, 'cast(series.generated_number as integer) - 1') }} as period_start
    from {{ bounds_relation }}
    cross join ({{ dbt.generate_series(max_days) }}) as series
    where {{ add_days(start_date, 'cast(series.generated_number as integer) - 1') }} <= {{ end_date }}
{%- endmacro %}

{% macro spark__day_series(start_date, end_date, bounds_relation, max_days=100000) -%}
    select spine.period_start
    from {{ bounds_relation }}
    lateral view explode(
        case when {{ start_date }} <= {{ end_date }} then
            sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
        end
    ) spine as period_start
{%- endmacro %}

{#- One row per date column of the landed sources, `d` = agg(column) (agg: min or max), as
    the branches of a union: the days int_as_of_date and int_calendar_days are bounded by.
    `extra`: more (model, column) pairs. Not fx_rates; releases.planned_at only when asked. -#}
{% macro landed_days(agg, extra=[]) -%}
    {%- set columns = [
        ('stg_product__events', 'occurred_date'),
        ('stg_product__users', 'signed_up_date'),
        ('stg_crm__customers', 'created_date'),
        ('stg_billing__invoices', 'issued_date'),
        ('stg_sales__bookings', 'booked_date'),
        ('stg_marketing__spend', 'spend_date'),
        ('stg_marketing__leads', 'created_date'),
        ('stg_marketing__leads', 'converted_date'),
        ('stg_survey__responses', 'responded_date'),
        ('stg_product__releases', 'released_date'),
    ] + extra -%}
    {%- for model, column in columns %}
        {% if not loop.first %}union all {% endif %}select {{ agg }}({{ column }}) as d from {{ ref(model) }}
    {%- endfor %}
{%- endmacro %}

{#- The `final` select of a continuous monthly mart: every month from the first month of
    the relation `monthly` (a CTE with a `month` column) through the as-of month; each of
    `counts` from it, 0 in a month without a row (cast to `count_type`, or left as it is
    when none); then `columns`, (SQL over monthly's columns, name) pairs, NULL in such a month
    unless their SQL says otherwise. With `by` (a column of monthly), one row per month and
    each value of `by` that monthly has. `month_column` names the month in monthly and in
    the result. -#}
{% macro monthly_series(monthly, counts, columns=[], count_type='bigint', by=none, month_column='month') -%}
    select
        months.period_start as {{ month_column }}
        {%- if by %},
        dimension.{{ by }}
        {%- endif %}
        {%- for count in counts %},
        {% if count_type %}cast(coalesce({{ monthly }}.{{ count }}, 0) as {{ count_type }}){% else %}coalesce({{ monthly }}.{{ count }}, 0){% endif %} as {{ count }}
        {%- endfor %}
        {%- for sql, name in columns %},
        {{ sql }} as {{ name }}
        {%- endfor %}
    from ({{ months_through_as_of('(select min(' ~ month_column ~ ') from ' ~ monthly ~ ')') }}) as months
    {%- if by %}
    cross join (select distinct {{ by }} from {{ monthly }}) as dimension
    {%- endif %}
    left join {{ monthly }}
        on {{ monthly }}.{{ month_column }} = months.period_start
        {%- if by %}
        and {{ monthly }}.{{ by }} = dimension.{{ by }}
        {%- endif %}
{%- endmacro %}

{#- The months from `first_month` (an SQL expression, e.g. a scalar subquery) through the
    as-of month, column `column` (DATE, first of the month), cut from int_calendar_days:
    the month series most marts are continuous over. NULL first_month gives no rows. -#}
{% macro months_through_as_of(first_month, column='period_start') -%}
    select calendar.month as {{ column }}
    from {{ ref('int_calendar_days') }} as calendar
    cross join {{ ref('int_as_of_date') }} as as_of
    where calendar.date = calendar.month
        and calendar.month >= {{ first_month }}
        and calendar.month <= {{ month_start('as_of.as_of_date') }}
{%- endmacro %}
