"""Data quality: Great Expectations suites (``expectations/*.json``).

- :mod:`.suites` loads the JSON suites; :mod:`.make_suites` writes them from the contract.
- :mod:`.gx_runner` validates pandas frames (and tables, chunked) with GX 1.x.
- :mod:`.pushdown` runs a landing suite's row rules as SQL over the whole raw table, and
  computes the freshness/volume figures that GX then judges.

Cross-row rules of the marts that a suite cannot state (bridges, gaps, calendars, sums
between marts) are dbt tests (``dbt_models/tests``, ``macros/tests``), run by dbt in the
build and shown as blocking checks on the marts they guard.

The Dagster asset checks built from these live in ``dagster_project/defs/quality``.
"""
