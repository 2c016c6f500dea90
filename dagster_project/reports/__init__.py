"""Reports computed in Python over the marts: the buying trend (``buying_trend``) and the
terminal KPI scorecard (``scorecard``). Functions take an open DuckDB connection; nothing
here opens a database at import time."""
