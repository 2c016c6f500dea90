{#- Join the rate to the reporting currency in force on a row's own date (the latest on or
    before it; docs/LANDING.md, "Exchange rates").
    Usage: from rows {{ fx_rate_join('rows', 'rows.issued_date', 'rows.currency') }}
    then `rows.amount * fx.rate_to_reporting` (or the columns of `reporting_amounts` below).
    The reporting currency converts at 1. -#}
{% macro fx_rate_join(alias, date_expr, currency_expr, fx_alias='fx') -%}
    left join {{ ref('stg_reference__fx_rates') }} as {{ fx_alias }}
        on {{ fx_alias }}.currency = {{ currency_expr }}
        and {{ date_expr }} >= {{ fx_alias }}.valid_from
        and {{ date_expr }} < {{ fx_alias }}.valid_to
{%- endmacro %}


{#- The columns a row joined by `fx_rate_join` publishes about money: its landed `currency`,
    the rate used (`fx_rate`) and each amount column converted (`<column>_reporting`). -#}
{% macro reporting_amounts(alias, amount_columns, fx_alias='fx') -%}
    {{ alias }}.currency,
        {{ fx_alias }}.rate_to_reporting as fx_rate
    {%- for column in amount_columns %},
        {{ alias }}.{{ column }} * {{ fx_alias }}.rate_to_reporting as {{ column }}_reporting
    {%- endfor %}
{%- endmacro %}
