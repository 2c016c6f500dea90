"""The KPI report's sections, one module each, in the order of the page: each declares its
panels on its ``SECTION`` (``report_data.Section``). A new chart is a panel in the section
it belongs to: a function that reads its mart through the report's context and appends a
figure (``reports.charts``, ``charts_flow``, ``charts_grid``)."""

from dagster_project.reports.sections import (
    product,
    retention,
    revenue,
    sales,
    scorecard,
    unit_economics,
)

SECTIONS = [scorecard.SECTION, revenue.SECTION, retention.SECTION, unit_economics.SECTION,
            product.SECTION, sales.SECTION]
