{#- Generic tests of the sales and scorecard marts (no hub packages here). -#}

{#- Shares in `column_name` add up to 1 (within 1e-9) in every group of `group_by` (the whole
    table when empty) that has a non-NULL share (a group whose total is 0 has NULL shares everywhere). -#}
{% test sales_shares_sum_to_one(model, column_name, group_by=[]) %}
    select {% for column in group_by %}{{ column }}, {% endfor %}sum({{ column_name }}) as total_share
    from {{ model }}
    {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
    having count({{ column_name }}) > 0
        and abs(sum({{ column_name }}) - 1) > 1e-9
{% endtest %}
