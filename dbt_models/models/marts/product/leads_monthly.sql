-- Leads (docs/METRICS.md, Growth and delivery): one row per month of lead creation, continuous
-- from the first lead month through the as-of month (leads created after as_of_date are not
-- reported yet). A lead is converted when converted_at is set and on or before as_of_date
-- (the per-channel mart, lead_conversion_by_channel_monthly, applies these rules; this one
-- sums its channels).
-- lead_velocity_rate_pct = 100 x (qualified this month - last month) / last month, NULL in
-- the first month and after a month with no qualified leads.

with

by_channel as (
    select * from {{ ref('lead_conversion_by_channel_monthly') }}
),

-- The month's leads over every channel: the rules (reported through as_of_date, qualified,
-- converted by as_of_date) are lead_conversion_by_channel_monthly's.
monthly as (
    select
        month,
        sum(leads) as leads,
        sum(qualified_leads) as qualified_leads,
        sum(converted_leads) as converted_leads
    from by_channel
    group by month
),

series as (
    {{ monthly_series('monthly', ['leads', 'qualified_leads', 'converted_leads'], count_type=none) }}
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
