-- Revenue mix by region (docs/METRICS.md, Revenue structure and sales): recognised revenue per
-- month, region and revenue_type. `share` is the type's share of the region's revenue in
-- the month (it adds up to 1 per month and region); `share_of_month_revenue` its share of
-- the whole month's revenue (adds up to 1 per month). A full grid: every month from the
-- first month with recognised revenue through the as-of month x every region x every
-- revenue_type ever recognised, 0 when none; a share is NULL when its total is 0.
-- Region is the customer's current attribute ('unknown' when missing).

{{ revenue_mix_by('region') }}
