"""The ingestion engine: landing files -> ``landed.<source>`` -> ``raw.<source>``,
``ops.quarantine``, ``ops.ingestion_log`` (docs/LANDING.md).

Pure Python + DuckDB SQL, independent of Dagster::

    prepare_warehouse(con)                          # schemas, ops tables, TimeZone=UTC
    result = ingest_source(con, landing_dir, "customers")
    results = ingest_all(con, landing_dir)          # every source of the contract

Modules: ``files`` (finding and hashing files), ``readers`` (one file -> landed rows, with
DuckDB's CSV/JSON/Parquet readers), ``kept`` (Parquet files kept as they are, read as
landed rows through the ``landed.<source>`` view), ``derive`` (landed -> raw, quarantine, log counts; the
cross-row rules and the invariant check), ``schema`` (the tables), ``engine`` (the
per-source flow). Nothing here opens a database: the caller passes the connection.
"""

from dagster_project.ingest.derive import IngestionInvariantError, check_invariants
from dagster_project.ingest.engine import SourceIngestResult, ingest_all, ingest_source
from dagster_project.ingest.files import LANDING_SUFFIXES
from dagster_project.ingest.schema import prepare_warehouse

__all__ = [
    "LANDING_SUFFIXES",
    "IngestionInvariantError",
    "SourceIngestResult",
    "check_invariants",
    "ingest_all",
    "ingest_source",
    "prepare_warehouse",
]
