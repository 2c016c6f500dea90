-- Leads (docs/METRICS.md, Growth and delivery): one row per month of lead creation, continuous
-- from the first lead month through the as-of month (leads created after as_of_date are not
-- reported yet). A lead is converted when converted_at is set and on or before as_of_date.
-- lead_velocity_rate_pct = 100 x (qualified this month - last month) / last month, NULL in
-- the first month and after a month with no qualified leads.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

leads as (
    select * from {{ ref('stg_marketing__leads') }}
),

reported_leads as (
    select
        {{ month_start('leads.created_date') }} as month,
        case when coalesce(leads.is_qualified, true) then 1 else 0 end as is_qualified,
        case
            when leads.converted_at is not null and leads.converted_date <= as_of.as_of_date then 1
            else 0
        end as is_converted
    from leads
    cross join as_of
    where leads.created_date <= as_of.as_of_date
),

monthly as (
    select
        month,
        count(*) as leads,
        sum(is_qualified) as qualified_leads,
        sum(is_converted) as converted_leads
    from reported_leads
    group by month
),

months as (
    {{ months_through_as_of('(select min(month) from monthly)') }}
),

series as (
    select
        months.period_start as month,
        coalesce(monthly.leads, 0) as leads,
        coalesce(monthly.qualified_leads, 0) as qualified_leads,
        coalesce(monthly.converted_leads, 0) as converted_leads
    from months
    left join monthly
        on monthly.month = months.period_start
),

with_previous as (
    select
        series.*,
        lag(qualified_leads) over (order by month) as previous_qualified_leads
    from series
),

final as (
    select
        month,
        cast(leads as bigint) as leads,
        cast(qualified_leads as bigint) as qualified_leads,
        cast(converted_leads as bigint) as converted_leads,
        {{ safe_ratio('converted_leads', 'leads') }} as lead_to_customer_rate,
        {{ safe_ratio('100 * (qualified_leads - previous_qualified_leads)', 'previous_qualified_leads') }}
            as lead_velocity_rate_pct
    from with_previous
)

select * from final
