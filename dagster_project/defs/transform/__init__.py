"""Dagster wiring of the dbt project. dagster-dbt is imported here first, in its mode
without dbt-core (``compat.import_dagster_dbt``), before the modules below import from it."""

from dagster_project.compat import import_dagster_dbt

import_dagster_dbt()
