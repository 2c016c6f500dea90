-- MetricFlow's time spine (the semantic layer: docs/SEMANTIC_LAYER.md): one row per day of
-- the calendar (int_calendar_days), so metrics offset by a period (lead velocity) or joined
-- to every day have a row to land on. Published so `product-metrics query` answers from the
-- serving database alone.

with

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

final as (
    select
        date as date_day
    from calendar
)

select * from final
