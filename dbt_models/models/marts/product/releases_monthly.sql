-- Releases (docs/METRICS.md, Growth and delivery): one row per month of release, continuous from
-- the first month with a shipped release through the as-of month. A release is shipped in
-- the month of released_at (through as_of_date). On time: released_at <= planned_at; days
-- late = calendar days (reporting time zone) from planned to released day, 0 when on time
-- or early. Releases without planned_at count as shipped but not in the on-time figures.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

releases as (
    select * from {{ ref('stg_product__releases') }}
),

shipped as (
    select
        {{ month_start('releases.released_date') }} as month,
        case when releases.planned_at is not null then 1 else 0 end as has_plan,
        case when releases.released_at <= releases.planned_at then 1 else 0 end as is_on_time,
        case when releases.released_at > releases.planned_at then 1 else 0 end as is_late,
        case
            when releases.planned_at is null then null
            when releases.released_at <= releases.planned_at then 0
            else {{ dbt.datediff('releases.planned_date', 'releases.released_date', 'day') }}
        end as days_late
    from releases
    cross join as_of
    where releases.released_at is not null
        and releases.released_date <= as_of.as_of_date
),

monthly as (
    select
        month,
        count(*) as releases_shipped,
        sum(has_plan) as releases_with_plan,
        sum(is_on_time) as on_time_releases,
        sum(is_late) as late_releases,
        avg(cast(days_late as double)) as mean_days_late
    from shipped
    group by month
),

final as (
    {{ monthly_series('monthly',
        ['releases_shipped', 'releases_with_plan', 'on_time_releases', 'late_releases'], [
        (safe_ratio('monthly.on_time_releases', 'monthly.releases_with_plan'), 'on_time_share'),
        ('monthly.mean_days_late', 'mean_days_late'),
    ]) }}
)

select * from final
