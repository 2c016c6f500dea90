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

{#- The body of a product usage mart of one grain (`datepart` week or month, its period
    column named `period_column`): per period of product_usage_daily, active users (distinct
    over the period), new users, users at start and end, and the shares of the base. -#}
{% macro usage_by_period(datepart, period_column) -%}
with

usage_daily as (
    select * from {{ ref('product_usage_daily') }}
),

user_activity as (
    select * from {{ ref('int_user_activity_daily') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

daily_in_periods as (
    select
        {{ usage_period_start(datepart, 'date') }} as {{ period_column }},
        date,
        new_users,
        total_users
    from usage_daily
),

period_users as (
    select
        {{ period_column }},
        sum(new_users) as new_users,
        max(total_users) as total_users
    from daily_in_periods
    group by {{ period_column }}
),

period_activity as (
    select
        {{ usage_period_start(datepart, 'user_activity.activity_date') }} as {{ period_column }},
        count(distinct user_activity.user_id) as active_users
    from user_activity
    cross join as_of
    where user_activity.activity_date <= as_of.as_of_date
    group by {{ usage_period_start(datepart, 'user_activity.activity_date') }}
),

final as (
    select
        period_users.{{ period_column }},
        cast(coalesce(period_activity.active_users, 0) as bigint) as active_users,
        cast(period_users.new_users as bigint) as new_users,
        cast(period_users.total_users - period_users.new_users as bigint) as users_at_start,
        cast(period_users.total_users as bigint) as total_users,
        {{ safe_ratio('period_users.new_users', 'period_users.total_users') }} as new_users_pct_of_base,
        {{ safe_ratio('period_users.new_users', 'period_users.total_users - period_users.new_users') }}
            as base_growth_pct,
        {{ safe_ratio('coalesce(period_activity.active_users, 0)', 'period_users.total_users') }}
            as active_pct_of_base
    from period_users
    left join period_activity
        on period_activity.{{ period_column }} = period_users.{{ period_column }}
)

select * from final
{%- endmacro %}

{#- The responses of one survey ('nps', 'csat') by month (and the `by` columns): their count
    `responses` and the `counts` expressions (e.g. `nps_counts()`), from int_survey_responses
    (cut at the as-of date, with the segment each counts for). -#}
{% macro survey_counts_by_month(survey, counts, by=[]) -%}
    select
        month,
        {%- for column in by %}
        {{ column }},
        {%- endfor %}
        count(*) as responses,
        {{ counts }}
    from {{ ref('int_survey_responses') }}
    where survey = {{ sql_literal(survey) }}
    group by month{% for column in by %}, {{ column }}{% endfor %}
{%- endmacro %}

{#- A group's NPS answer counts (docs/METRICS.md, Satisfaction): promoters score 9-10,
    passives 7-8, detractors 0-6. -#}
{% macro nps_counts(score='score') -%}
    sum(case when {{ score }} >= 9 then 1 else 0 end) as promoters,
        sum(case when {{ score }} between 7 and 8 then 1 else 0 end) as passives,
        sum(case when {{ score }} <= 6 then 1 else 0 end) as detractors
{%- endmacro %}

{#- NPS from a row's counts: 100 x (promoters - detractors) / responses, NULL without
    responses. -#}
{% macro nps_score(relation) -%}
    {{ safe_ratio('100 * (' ~ relation ~ '.promoters - ' ~ relation ~ '.detractors)', relation ~ '.responses') }}
{%- endmacro %}

{#- How many steps int_funnel_progress follows: the funnel steps' distinct step orders (the
    staged seeds/funnel_steps.csv, built before the model in a run), at least 1, at most
    `max_steps`. Each step followed is a join and a grouping of every actor, so following
    the 12 steps the model supports when the seed lists 5 cost a quarter of the model's
    time for nothing (steps 6-12 reach no one). `max_steps` while dbt parses, or when the
    steps table is not built yet (a compile before the first build). -#}
{% macro funnel_step_count(steps_relation, max_steps) -%}
    {%- if not execute -%}
        {{ return(max_steps) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(database=steps_relation.database,
                                            schema=steps_relation.schema,
                                            identifier=steps_relation.identifier) -%}
    {%- if existing is none -%}
        {{ return(max_steps) }}
    {%- endif -%}
    {%- set counted = run_query("select count(distinct step_order) from " ~ steps_relation) -%}
    {%- set steps = counted.columns[0].values()[0] | int -%}
    {{ return([[steps, 1] | max, max_steps] | min) }}
{%- endmacro %}
