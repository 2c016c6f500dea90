-- One row per week (Monday to Sunday), continuous over the days of product_usage_daily
-- (first signup or event through as_of_date; the last week is cut at as_of_date).
-- docs/METRICS.md, Usage:
-- active users in the period (distinct), new users, new users as a share of the base at
-- the period's end, and base growth = new users / users signed up before the period.

{{ usage_by_period('week', 'week_start') }}
