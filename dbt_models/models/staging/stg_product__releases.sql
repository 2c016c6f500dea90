-- One row per release.

with

releases as (
    {{ landed('releases', ['release_id']) }}
),

final as (
    select
        release_id,
        name as release_name,
        planned_at,
        {{ to_reporting_date('planned_at') }} as planned_date,
        released_at,
        {{ to_reporting_date('released_at') }} as released_date,
        coalesce(product, 'unknown') as product,
        kind,
        _file,
        _line
    from releases
)

select * from final
