"""Data quality: Great Expectations suites (``expectations/*.json``) and SQL invariants.

- :mod:`.suites` loads the JSON suites; :mod:`.make_suites` writes them from the contract.
- :mod:`.gx_runner` validates pandas frames (and tables, chunked) with GX 1.x.
- :mod:`.pushdown` runs a landing suite's row rules as SQL over the whole raw table, and
  computes the freshness/volume figures that GX then judges.
- :mod:`.invariants` holds the cross-row rules GX cannot state (bridge, gaps, sums).

The Dagster asset checks built from these live in ``dagster_project/defs/quality``.
"""
