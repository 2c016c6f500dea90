-- Every target in seeds/kpi_targets.csv names a KPI of the registry (macro
-- scorecard_kpi_registry, model int_kpi_registry): a name no mart provides is a clear
-- error at build time, not a silent no_data row (docs/METRICS.md, KPI scorecard). Each failing
-- row names the KPI and the seed row; the failures are stored (dbt_test__audit).

{{ config(severity='error', store_failures=true,
          meta={'dagster': {'ref': {'name': 'stg_reference__kpi_targets'}}}) }}

with

targets as (
    select * from {{ ref('stg_reference__kpi_targets') }}
),

registry as (
    select * from {{ ref('int_kpi_registry') }}
),

final as (
    select
        targets.kpi,
        targets.grain,
        targets.period_start,
        targets.target_row,
        {{ dbt.concat([
            "'unknown KPI '",
            "coalesce(targets.kpi, '(empty)')",
            "' in seeds/kpi_targets.csv (target_row '",
            "cast(targets.target_row as " ~ dbt.type_string() ~ ")",
            "', grain '",
            "coalesce(targets.grain, '(empty)')",
            "', period_start '",
            "coalesce(cast(targets.period_start as " ~ dbt.type_string() ~ "), '(empty)')",
            "'): no mart provides it'",
        ]) }} as problem
    from targets
    left join registry
        on registry.kpi = targets.kpi
    where registry.kpi is null
)

select * from final
