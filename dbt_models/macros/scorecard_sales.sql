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

{#- The import CTEs of the recognised-revenue marts: `months` (int_sales_months), `revenue`
    (int_invoices_recognised) and `revenue_months`, the months from the first with
    recognised revenue through the as-of month. Each ends with a comma. -#}
{% macro recognised_revenue_imports() -%}
months as (
    select * from {{ ref('int_sales_months') }}
),

revenue as (
    select * from {{ ref('int_invoices_recognised') }}
),

revenue_months as (
    select months.*
    from months
    where months.month >= (select min(issued_month) from revenue)
),
{%- endmacro %}

{#- The body of a revenue mix mart by one dimension of int_invoices_recognised (`product`,
    `region`): recognised revenue per month, dimension value and revenue_type on a full grid
    (every month from the first with recognised revenue through the as-of month x every
    value x every revenue_type, 0 when none); `share` within the month and value,
    `share_of_month_revenue` within the month, `<dimension>_revenue` the value's total. -#}
{% macro revenue_mix_by(dimension) -%}
with

{{ recognised_revenue_imports() }}

{{ dimension }}s as (
    select distinct {{ dimension }} from revenue
),

revenue_types as (
    select distinct revenue_type from revenue
),

monthly as (
    select
        issued_month as month,
        {{ dimension }},
        revenue_type,
        count(*) as invoices,
        sum(revenue) as revenue
    from revenue
    group by issued_month, {{ dimension }}, revenue_type
),

grid as (
    select
        revenue_months.month,
        revenue_months.is_complete,
        {{ dimension }}s.{{ dimension }},
        revenue_types.revenue_type,
        coalesce(monthly.invoices, 0) as invoices,
        coalesce(monthly.revenue, {{ to_money('0') }}) as revenue
    from revenue_months
    cross join {{ dimension }}s
    cross join revenue_types
    left join monthly
        on monthly.month = revenue_months.month
        and monthly.{{ dimension }} = {{ dimension }}s.{{ dimension }}
        and monthly.revenue_type = revenue_types.revenue_type
),

with_totals as (
    select
        grid.*,
        sum(revenue) over (partition by month, {{ dimension }}) as {{ dimension }}_revenue,
        sum(revenue) over (partition by month) as month_revenue
    from grid
),

final as (
    select
        month,
        {{ dimension }},
        revenue_type,
        {{ publish_money('revenue') }} as revenue,
        {{ safe_ratio('revenue', dimension ~ '_revenue') }} as share,
        {{ safe_ratio('revenue', 'month_revenue') }} as share_of_month_revenue,
        cast(invoices as bigint) as invoices,
        {{ publish_money(dimension ~ '_revenue') }} as {{ dimension }}_revenue,
        is_complete as is_complete_month
    from with_totals
)

select * from final
{%- endmacro %}
