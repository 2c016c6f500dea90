-- KPI targets (seeds/kpi_targets.csv): one scorecard row each.

with

targets as (
    select * from {{ ref('kpi_targets') }}
),

final as (
    select
        kpi,
        grain,
        cast(period_start as date) as period_start,
        cast(target as double) as target,
        direction,
        cast(tolerance as double) as tolerance,
        cast(row_number() over (order by kpi, grain, period_start) as bigint) as target_row
    from targets
)

select * from final
