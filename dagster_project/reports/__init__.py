"""The KPI report (``kpi_report``: its data in ``report_data``, its tiles in
``report_tiles``, one module per section in ``sections``, the charts in ``charts*``, the
page in ``report_page``) and the terminal KPI scorecard (``scorecard``). Functions take an
open DuckDB connection or a path; nothing here opens a database at import time or imports
Dagster."""
