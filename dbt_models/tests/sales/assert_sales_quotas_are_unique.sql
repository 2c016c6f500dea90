-- One quota per sales rep and quarter (seeds/sales_quotas.csv), starting on a quarter's
-- first day: attainment divides by exactly one quota.

{{ config(severity='error') }}

select sales_rep_id, quarter_start, count(*) as quotas
from {{ ref('stg_reference__sales_quotas') }}
group by sales_rep_id, quarter_start
having count(*) > 1 or min(quarter_start) <> {{ quarter_start('min(quarter_start)') }}
