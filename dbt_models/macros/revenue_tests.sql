{#- Generic tests of the revenue marts (no hub packages here). -#}

{#- Money columns that should reconcile: rows where abs(left - right) >= 0.005 (to the cent)
    or either side is NULL. -#}
{% test revenue_equal_to_the_cent(model, left, right, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(abs(({{ left }}) - ({{ right }})) < 0.005, false)
{% endtest %}
