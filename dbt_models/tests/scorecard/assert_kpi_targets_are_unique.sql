-- One target per KPI, grain and period: the scorecard is keyed by (kpi, grain, period_start).

{{ config(severity='error') }}

select kpi, grain, period_start, count(*) as targets
from {{ ref('stg_reference__kpi_targets') }}
group by kpi, grain, period_start
having count(*) > 1
