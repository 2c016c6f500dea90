"""Python assets downstream of dbt: the buying trend (SES forecast per segment)."""


import dagster as dg

from dagster_project.resources import WarehouseResource
from dagster_project.settings import Settings, metric_vars

BUYING_TREND_KEY = dg.AssetKey(["marts", "buying_trend_monthly"])


def build_report_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    metric = metric_vars(settings)

    @dg.asset(
        key=BUYING_TREND_KEY,
        group_name="marts",
        deps=[dg.AssetKey(["marts", "revenue_by_segment_monthly"])],
        description=(
            "Buying trend per customer segment: monthly revenue, 3-month moving average, simple "
            "exponential smoothing (smoothing_alpha) and a flat forecast for the next "
            "forecast_months months with a band (docs/METRICS.md, Revenue structure and sales)."
        ),
        kinds={"python", "pandas", "duckdb"},
        owners=["team:data-platform"],
        pool="duckdb",
    )
    def buying_trend_monthly(warehouse: WarehouseResource) -> dg.MaterializeResult:
        from dagster_project.transform.buying_trend import build_buying_trend

        alpha = float(metric["smoothing_alpha"])
        horizon = int(metric["forecast_months"])
        with warehouse.connect() as con:
            rows = build_buying_trend(con, alpha=alpha, horizon=horizon)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "smoothing_alpha": alpha, "forecast_months": horizon}
        )

    return [buying_trend_monthly]
