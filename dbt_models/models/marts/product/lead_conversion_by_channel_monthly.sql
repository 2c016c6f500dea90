-- Lead conversion per channel (docs/METRICS.md, Growth and delivery): one row per month of lead
-- creation and channel with at least one lead (through as_of_date; all-zero rows left out).
-- The lead rules live here; leads_monthly sums these rows over the channels.

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
        leads.channel,
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
        channel,
        count(*) as leads,
        sum(is_qualified) as qualified_leads,
        sum(is_converted) as converted_leads
    from reported_leads
    group by month, channel
),

final as (
    select
        month,
        channel,
        cast(leads as bigint) as leads,
        cast(qualified_leads as bigint) as qualified_leads,
        cast(converted_leads as bigint) as converted_leads,
        {{ safe_ratio('converted_leads', 'leads') }} as lead_to_customer_rate
    from monthly
)

select * from final
