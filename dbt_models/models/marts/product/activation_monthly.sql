-- Activation per sign-up cohort (docs/METRICS.md, Usage): one row per sign-up month, continuous
-- from the first sign-up month through the as-of month. A user is activated when they
-- performed `activation_event` on a day (reporting time zone) from their sign-up day through
-- sign-up day + `activation_window_days`, both included (macro usage_within_days). Events
-- after as_of_date are not known yet, so the latest cohorts may still be inside their window.

with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

events as (
    select * from {{ ref('stg_product__events') }}
),

cohort_members as (
    select
        users.user_id,
        users.signed_up_date,
        {{ month_start('users.signed_up_date') }} as signup_month
    from users
    cross join as_of
    where users.signed_up_date <= as_of.as_of_date
),

activation_events as (
    select
        events.user_id,
        events.occurred_date
    from events
    cross join as_of
    where events.event_name = {{ sql_literal(var('activation_event')) }}
        and events.user_id is not null
        and events.occurred_date <= as_of.as_of_date
),

activated_users as (
    select distinct cohort_members.user_id
    from cohort_members
    inner join activation_events
        on activation_events.user_id = cohort_members.user_id
        and {{ usage_within_days('activation_events.occurred_date', 'cohort_members.signed_up_date',
                                 var('activation_window_days')) }}
),

cohorts as (
    select
        cohort_members.signup_month,
        count(*) as users,
        count(activated_users.user_id) as activated_users
    from cohort_members
    left join activated_users
        on activated_users.user_id = cohort_members.user_id
    group by cohort_members.signup_month
),

final as (
    {{ monthly_series('cohorts', ['users', 'activated_users'], [
        (safe_ratio('cohorts.activated_users', 'cohorts.users'), 'activation_rate'),
    ], month_column='signup_month') }}
)

select * from final
