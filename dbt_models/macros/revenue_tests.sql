{#- Generic tests of the revenue marts (no hub packages here). -#}

{#- A row of a monthly MRR bridge that does not reconcile, to the cent (a `model_rules` rule,
    `mrr_bridge_reconciles`): mrr_end = mrr_start + new + expansion + reactivation -
    contraction - churned, net_new_mrr = mrr_end - mrr_start, arr_end = 12 * mrr_end; and its
    customer counts: customers_end = customers_start + new + reactivated - churned
    (docs/METRICS.md, Monthly movements). A NULL fails. -#}
{% macro mrr_bridge_broken() -%}
    not coalesce(
            abs(mrr_end - (mrr_start + new_mrr + expansion_mrr + reactivation_mrr
                           - contraction_mrr - churned_mrr)) < 0.005,
            false)
        or not coalesce(abs(net_new_mrr - (mrr_end - mrr_start)) < 0.005, false)
        or not coalesce(abs(arr_end - 12 * mrr_end) < 0.005, false)
        or not coalesce(
            customers_end = customers_start + new_customers + reactivated_customers - churned_customers,
            false)
{%- endmacro %}

{#- A cohort table is a full triangle: every cohort has one row for each month from its cohort
    month (months_since_start 0) through the as-of month (int_as_of_date's), no gap, none
    after it. Fails with one row per broken cohort. -#}
{% test cohort_triangle_is_full(model) %}
    with

    last_month as (
        select {{ month_start('as_of_date') }} as last_month
        from {{ ref('int_as_of_date') }}
    ),

    per_cohort as (
        select
            cohort_month,
            count(*) as cells,
            min(months_since_start) as first_k,
            max(months_since_start) as last_k
        from {{ model }}
        group by cohort_month
    )

    select per_cohort.*, last_month.last_month
    from per_cohort
    cross join last_month
    where per_cohort.first_k <> 0
        or per_cohort.cells <> per_cohort.last_k + 1
        or per_cohort.last_k <> {{ dbt.datediff('per_cohort.cohort_month', 'last_month.last_month', 'month') }}
{% endtest %}


{#- Summed over its other columns by `key`, `model` equals `to` for every value of `key` in
    either table: `money` columns to the cent, `counts` exactly. Fails with one row per
    differing key, both sides shown. -#}
{% test sums_to(model, to, money=[], counts=[], key='month') %}
    with

    model_sums as (
        select
            {{ key }},
            {% for column in money + counts -%}
            sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
            {% endfor %}
        from {{ model }}
        group by {{ key }}
    )

    select
        coalesce(total.{{ key }}, model_sums.{{ key }}) as {{ key }},
        {% for column in money + counts -%}
        total.{{ column }} as total_{{ column }},
        model_sums.{{ column }} as summed_{{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from {{ to }} as total
    full outer join model_sums
        on model_sums.{{ key }} = total.{{ key }}
    where
        {% for column in money -%}
        not coalesce(abs(coalesce(model_sums.{{ column }}, 0) - total.{{ column }}) < 0.005, false)
        or {% endfor %}
        {%- for column in counts %}
        coalesce(model_sums.{{ column }}, 0) <> total.{{ column }}
        or {% endfor %} total.{{ key }} is null
{% endtest %}
