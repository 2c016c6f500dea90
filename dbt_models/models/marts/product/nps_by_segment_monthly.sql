-- NPS per customer segment (docs/METRICS.md, Satisfaction): one row per month (continuous from
-- the first `nps` response through the as-of month) and segment that ever answered. The
-- segment is that of the response's customer_id, else of its user's customer (users),
-- else 'unknown' (also for a customer missing from customers): int_survey_responses.

with

responses as (
    select * from {{ ref('int_survey_responses') }}
),

nps_responses as (
    select month, segment, score
    from responses
    where survey = 'nps'
),

monthly as (
    select
        month,
        segment,
        count(*) as responses,
        sum(case when score >= 9 then 1 else 0 end) as promoters,
        sum(case when score between 7 and 8 then 1 else 0 end) as passives,
        sum(case when score <= 6 then 1 else 0 end) as detractors
    from nps_responses
    group by month, segment
),

segments as (
    select distinct segment from monthly
),

months as (
    {{ months_through_as_of('(select min(month) from monthly)') }}
),

final as (
    select
        months.period_start as month,
        segments.segment,
        cast(coalesce(monthly.responses, 0) as bigint) as responses,
        cast(coalesce(monthly.promoters, 0) as bigint) as promoters,
        cast(coalesce(monthly.passives, 0) as bigint) as passives,
        cast(coalesce(monthly.detractors, 0) as bigint) as detractors,
        {{ safe_ratio('100 * (monthly.promoters - monthly.detractors)', 'monthly.responses') }} as nps
    from months
    cross join segments
    left join monthly
        on monthly.month = months.period_start
        and monthly.segment = segments.segment
)

select * from final
