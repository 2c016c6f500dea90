{#- Business rules of the revenue-structure and sales marts (docs/METRICS.md, Revenue structure
    and sales; docs/metrics_notes_sales.md). Portable SQL (DuckDB and Spark). -#}

{#- Contract length band of a booking: monthly (< 12 months), annual (exactly 12),
    multi_year (> 12). -#}
{% macro sales_contract_band(contract_months) -%}
    case
        when {{ contract_months }} < 12 then 'monthly'
        when {{ contract_months }} = 12 then 'annual'
        else 'multi_year'
    end
{%- endmacro %}

{#- First day of the trailing-12-month window of the Pareto tiers: the as-of month and the
    11 months before it (revenue is a monthly figure, docs/METRICS.md: paid invoices in the month
    issued), so the window ends on as_of_date and starts on the first of a month. -#}
{% macro sales_trailing_window_start(as_of_date, months=12) -%}
    {{ add_months(month_start(as_of_date), 1 - months) }}
{%- endmacro %}

{#- Pareto tier of a customer ranked by revenue (descending; equal revenue, equal rank), from
    the revenue of the customers ranked BEFORE it (strictly more revenue): A while that is
    < tier_a_share of the total (so the customer, or the group of equal customers, that
    crosses the line is still in A), B while it is < tier_a_share + tier_b_share, else C.
    Customers with the same revenue therefore always share a tier. With a total of 0 every
    customer is C. Exact DECIMAL comparison: no floating-point boundary noise. -#}
{% macro sales_pareto_tier(revenue_before, total_revenue) -%}
    case
        when {{ total_revenue }} is null or {{ total_revenue }} <= 0 then 'C'
        when {{ revenue_before }} < {{ decimal_var('tier_a_share') }} * {{ total_revenue }} then 'A'
        when {{ revenue_before }}
            < ({{ decimal_var('tier_a_share') }} + {{ decimal_var('tier_b_share') }}) * {{ total_revenue }}
            then 'B'
        else 'C'
    end
{%- endmacro %}
