{#- Helpers every model family uses (one definition each; portable SQL unless dispatched,
    DuckDB variants are `duckdb__`, Spark's `spark__`). -#}

{#- numerator / denominator as a DOUBLE fraction; NULL when the denominator is 0 or NULL
    (never inf or NaN). -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- DATE d plus n days (n may be negative), as a DATE. -#}
{% macro add_days(d, n) -%}
    {{ return(adapter.dispatch('add_days', 'product_metrics')(d, n)) }}
{%- endmacro %}

{% macro default__add_days(d, n) -%}
    cast({{ dbt.dateadd('day', n, d) }} as date)
{%- endmacro %}

{% macro duckdb__add_days(d, n) -%}
    ({{ d }} + cast({{ n }} as integer))
{%- endmacro %}

{#- Aggregates: `value` of the row with the smallest (largest) `ordering` in the group; the
    orderings must be unique within a group. DuckDB's arg_min / arg_max, Spark's min_by /
    max_by (the default). -#}
{% macro value_at_min(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_min', 'product_metrics')(value, ordering)) }}
{%- endmacro %}

{% macro default__value_at_min(value, ordering) -%}
    min_by({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro duckdb__value_at_min(value, ordering) -%}
    arg_min({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max', 'product_metrics')(value, ordering)) }}
{%- endmacro %}

{% macro default__value_at_max(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro duckdb__value_at_max(value, ordering) -%}
    arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{#- DATE d plus n months (n may be negative), as a DATE. -#}
{% macro add_months(d, n) -%}
    cast({{ dbt.dateadd('month', n, d) }} as date)
{%- endmacro %}

{#- Exact money while it is computed: DECIMAL(38, 10), so that every sum, running sum and
    comparison downstream (with 0, between periods, at Pareto-tier boundaries) is exact:
    DOUBLE sums depend on the order of addition, and floating drift would create fake MRR
    movements. -#}
{% macro to_money(expr) -%}
    cast({{ expr }} as decimal(38, 10))
{%- endmacro %}

{#- Money as published: DOUBLE, unrounded (docs/METRICS.md, Rounding). -#}
{% macro publish_money(expr) -%}
    cast({{ expr }} as double)
{%- endmacro %}

{#- A SQL string literal, quotes escaped. -#}
{% macro sql_literal(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{#- A number var as a DOUBLE literal (e.g. gross_margin in a DOUBLE formula). -#}
{% macro double_var(name) -%}
    cast({{ var(name) | float }} as double)
{%- endmacro %}

{#- A fraction var as an exact DECIMAL literal (tier_a_share, tier_b_share, gross_margin in
    money arithmetic). -#}
{% macro decimal_var(name) -%}
    cast('{{ var(name) | float }}' as decimal(38, 10))
{%- endmacro %}
