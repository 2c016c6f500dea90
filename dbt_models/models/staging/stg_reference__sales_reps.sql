-- Sales reps (seeds/sales_reps.csv).

with

reps as (
    select * from {{ ref('sales_reps') }}
),

final as (
    select sales_rep_id, rep_name, team, region from reps
)

select * from final
