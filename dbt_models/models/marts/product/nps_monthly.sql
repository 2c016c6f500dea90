-- NPS (docs/METRICS.md, Satisfaction): one row per month, continuous from the first month with
-- an `nps` response through the as-of month. Promoters score 9-10, passives 7-8, detractors
-- 0-6; nps = 100 x (promoters - detractors) / responses, NULL in a month without responses.
-- The responses, cut at the as-of date: int_survey_responses.

with

monthly as (
    {{ survey_counts_by_month('nps', nps_counts()) }}
),

final as (
    {{ monthly_series('monthly', ['responses', 'promoters', 'passives', 'detractors'], [
        (nps_score('monthly'), 'nps'),
    ]) }}
)

select * from final
