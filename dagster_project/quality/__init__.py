"""Data quality: Great Expectations suites (``expectations/*.json``) and freshness.

- :mod:`.suites` loads the JSON suites; :mod:`.make_suites` writes them.
- :mod:`.gx_runner` validates pandas frames (and tables, chunked) with GX 1.x;
  :mod:`.batches` validates a landing source's newest ingestion batch against its history;
  :mod:`.data_docs` renders the results as GX Data Docs.
- :mod:`.freshness` says how fresh each landing source must be (Dagster judges it).

Row rules of the landing contract are ingestion's (``dagster_project/ingest``, quarantine);
structural rules of the models are dbt tests (``dbt_models/tests``, ``macros/tests``),
shown as blocking checks on the models they guard.

The Dagster asset checks built from these live in ``dagster_project/defs/quality``.
"""
