-- CSAT (docs/METRICS.md, Satisfaction): one row per month, continuous from the first month with
-- a `csat` response through the as-of month. csat = share of responses scoring 4 or 5,
-- NULL in a month without responses. The responses, cut at the as-of date:
-- int_survey_responses.

with

monthly as (
    {{ survey_counts_by_month('csat', 'sum(case when score >= 4 then 1 else 0 end) as satisfied_responses') }}
),

final as (
    {{ monthly_series('monthly', ['responses', 'satisfied_responses'], [
        (safe_ratio('monthly.satisfied_responses', 'monthly.responses'), 'csat'),
    ]) }}
)

select * from final
