-- The KPI scorecard (docs/METRICS.md, KPI scorecard; docs/MARTS.md (contract tables)): one row per
-- target of seeds/kpi_targets.csv, with the actual of its period (kpi_actuals), the
-- previous period's actual (a month or a quarter earlier) and the change (actual -
-- previous_actual). attainment = actual / target (target / actual for lower_is_better)
-- with the sign and zero rules of macro scorecard_attainment; status on_track when
-- attainment >= 1, at_risk when >= 1 - tolerance, else off_track, no_data when the actual
-- is NULL (macro scorecard_status). A target naming a KPI outside the registry fails the
-- build before this model (tests/scorecard/assert_kpi_targets_name_registered_kpis.sql).

with

targets as (
    select * from {{ ref('stg_reference__kpi_targets') }}
),

actuals as (
    select * from {{ ref('kpi_actuals') }}
),

registry as (
    select * from {{ ref('int_kpi_registry') }}
),

with_actuals as (
    select
        targets.kpi,
        targets.grain,
        targets.period_start,
        cast(targets.target as double) as target,
        coalesce(targets.direction, 'higher_is_better') as direction,
        cast(targets.tolerance as double) as tolerance,
        targets.target_row,
        current_period.actual,
        previous_period.actual as previous_actual,
        registry.unit
    from targets
    left join actuals as current_period
        on current_period.kpi = targets.kpi
        and current_period.grain = targets.grain
        and current_period.period_start = targets.period_start
    left join actuals as previous_period
        on previous_period.kpi = targets.kpi
        and previous_period.grain = targets.grain
        and previous_period.period_start = {{ scorecard_previous_period('targets.grain', 'targets.period_start') }}
    left join registry
        on registry.kpi = targets.kpi
),

with_attainment as (
    select
        with_actuals.*,
        {{ scorecard_attainment('actual', 'target', 'direction') }} as attainment
    from with_actuals
),

final as (
    select
        kpi,
        grain,
        period_start,
        actual,
        target,
        attainment,
        {{ scorecard_status('actual', 'target', 'direction', 'tolerance', 'attainment') }} as status,
        previous_actual,
        actual - previous_actual as change,
        direction,
        tolerance,
        {{ scorecard_period_label('grain', 'period_start') }} as period_label,
        unit,
        target_row
    from with_attainment
)

select * from final
