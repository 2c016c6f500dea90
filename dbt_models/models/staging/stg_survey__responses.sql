-- One row per survey response. `comment` is free text that may hold personal data and stops here.

with

responses as (
    {{ landed('survey_responses', ['response_id']) }}
),

final as (
    select
        response_id,
        survey,
        responded_at,
        {{ to_reporting_date('responded_at') }} as responded_date,
        score,
        customer_id,
        user_id,
        _file,
        _line
    from responses
)

select * from final
