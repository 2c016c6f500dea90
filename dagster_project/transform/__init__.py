"""Logic of the dbt step that is not Dagster wiring: the incremental slice, the Spark
hand-over, and the marts computed in Python (the buying trend)."""
