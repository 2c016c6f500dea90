-- A target's period_start is the first day of its month (grain month) or quarter (grain
-- quarter); anything else would never match an actual and read as no_data.

{{ config(severity='error') }}

select kpi, grain, period_start, target_row
from {{ ref('stg_reference__kpi_targets') }}
where period_start is null
    or (grain = 'month' and period_start <> {{ month_start('period_start') }})
    or (grain = 'quarter' and period_start <> {{ quarter_start('period_start') }})
