-- One row per user. `email` is personal data and stops here.

with

users as (
    {{ landed('users', ['user_id']) }}
),

final as (
    select
        user_id,
        customer_id,
        signed_up_at,
        {{ to_reporting_date('signed_up_at') }} as signed_up_date,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        _file,
        _line
    from users
)

select * from final
