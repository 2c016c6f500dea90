-- NPS per customer segment (docs/METRICS.md, Satisfaction): one row per month (continuous from
-- the first `nps` response through the as-of month) and segment that ever answered. The
-- segment is that of the response's customer_id, else of its user's customer (users),
-- else 'unknown' (also for a customer missing from customers): int_survey_responses.

with

monthly as (
    {{ survey_counts_by_month('nps', nps_counts(), by=['segment']) }}
),

final as (
    {{ monthly_series('monthly', ['responses', 'promoters', 'passives', 'detractors'], [
        (nps_score('monthly'), 'nps'),
    ], by='segment') }}
)

select * from final
