-- The KPI registry (macro scorecard_kpi_registry): one row per KPI a target may name, with
-- the marts its metric reads (its semantic models, models/semantic/), its display unit and
-- how its quarterly actual is made. Every KPI exists at both grains, month and quarter
-- (kpi_actuals).

with

registry as (
    {%- for entry in scorecard_kpi_registry() %}
    select
        {{ sql_literal(entry.kpi) }} as kpi,
        {{ sql_literal(semantic_marts(entry.kpi) if execute else '') }} as source_model,
        {{ sql_literal(entry.unit) }} as unit,
        {{ sql_literal(entry.quarterly) }} as quarterly_rule
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select * from registry
)

select * from final
