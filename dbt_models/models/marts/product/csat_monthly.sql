-- CSAT (docs/METRICS.md, Satisfaction): one row per month, continuous from the first month with
-- a `csat` response through the as-of month. csat = share of responses scoring 4 or 5,
-- NULL in a month without responses. The responses, cut at the as-of date:
-- int_survey_responses.

with

responses as (
    select * from {{ ref('int_survey_responses') }}
),

csat_responses as (
    select month, score
    from responses
    where survey = 'csat'
),

monthly as (
    select
        month,
        count(*) as responses,
        sum(case when score >= 4 then 1 else 0 end) as satisfied_responses
    from csat_responses
    group by month
),

final as (
    {{ monthly_series('monthly', ['responses', 'satisfied_responses'], [
        (safe_ratio('monthly.satisfied_responses', 'monthly.responses'), 'csat'),
    ]) }}
)

select * from final
