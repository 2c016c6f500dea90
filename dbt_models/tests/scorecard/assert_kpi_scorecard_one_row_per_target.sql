-- kpi_scorecard holds exactly one row per target of stg_reference__kpi_targets: no target
-- without its scorecard row, no scorecard row without a target (unique_combination on
-- (kpi, grain, period_start) rules out a second row).

{{ config(meta={'dagster': {'ref': {'name': 'kpi_scorecard'}}}) }}

with

targets as (
    select distinct kpi, grain, cast(period_start as date) as period_start
    from {{ ref('stg_reference__kpi_targets') }}
),

scorecard as (
    select distinct kpi, grain, cast(period_start as date) as period_start
    from {{ ref('kpi_scorecard') }}
),

failures as (
    select
        coalesce(targets.kpi, scorecard.kpi) as kpi,
        coalesce(targets.grain, scorecard.grain) as grain,
        coalesce(targets.period_start, scorecard.period_start) as period_start,
        case when scorecard.kpi is null then 'target without a scorecard row'
             else 'scorecard row without a target' end as problem
    from targets
    full outer join scorecard
        on targets.kpi = scorecard.kpi
        and targets.grain = scorecard.grain
        and targets.period_start = scorecard.period_start
    where targets.kpi is null or scorecard.kpi is null
)

select * from failures
