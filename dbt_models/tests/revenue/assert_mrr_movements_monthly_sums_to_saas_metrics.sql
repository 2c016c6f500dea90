-- Summed over segment, region and acquisition_channel, every bridge column of
-- mrr_movements_monthly equals saas_metrics_monthly's (money to the cent, counts exactly),
-- for every month of either table.

{{ config(meta={'dagster': {'ref': {'name': 'mrr_movements_monthly'}}}) }}

{%- set money = ['mrr_start', 'new_mrr', 'expansion_mrr', 'reactivation_mrr', 'contraction_mrr',
                 'churned_mrr', 'mrr_end', 'net_new_mrr', 'arr_end'] -%}
{%- set counts = ['customers_start', 'new_customers', 'reactivated_customers',
                  'churned_customers', 'customers_end'] %}

with

company as (
    select * from {{ ref('saas_metrics_monthly') }}
),

segments as (
    select * from {{ ref('mrr_movements_monthly') }}
),

segment_sums as (
    select
        month,
        {% for column in money + counts -%}
        sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from segments
    group by month
),

failures as (
    select
        coalesce(company.month, segment_sums.month) as month,
        {% for column in money + counts -%}
        company.{{ column }} as company_{{ column }},
        segment_sums.{{ column }} as segments_{{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from company
    full outer join segment_sums
        on segment_sums.month = company.month
    where
        {% for column in money -%}
        not coalesce(abs(coalesce(segment_sums.{{ column }}, 0) - company.{{ column }}) < 0.005, false)
        or {% endfor %}
        {%- for column in counts %}
        coalesce(segment_sums.{{ column }}, 0) <> company.{{ column }}
        or {% endfor %} company.month is null
)

select * from failures
