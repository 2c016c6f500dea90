-- NPS (docs/METRICS.md, Satisfaction): one row per month, continuous from the first month with
-- an `nps` response through the as-of month. Promoters score 9-10, passives 7-8, detractors
-- 0-6; nps = 100 x (promoters - detractors) / responses, NULL in a month without responses.
-- The responses, cut at the as-of date: int_survey_responses.

with

responses as (
    select * from {{ ref('int_survey_responses') }}
),

nps_responses as (
    select month, score
    from responses
    where survey = 'nps'
),

monthly as (
    select
        month,
        count(*) as responses,
        sum(case when score >= 9 then 1 else 0 end) as promoters,
        sum(case when score between 7 and 8 then 1 else 0 end) as passives,
        sum(case when score <= 6 then 1 else 0 end) as detractors
    from nps_responses
    group by month
),

final as (
    {{ monthly_series('monthly', ['responses', 'promoters', 'passives', 'detractors'], [
        (safe_ratio('100 * (monthly.promoters - monthly.detractors)', 'monthly.responses'), 'nps'),
    ]) }}
)

select * from final
