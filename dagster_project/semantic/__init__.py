"""The semantic layer: the dbt project's semantic models and metrics
(``dbt_models/models/semantic/``), queried with MetricFlow against the published marts.

``query`` answers "metric X by dimension Y by grain Z" from the serving database (read
only), so every answer comes from a build that passed its checks. Definitions live in the
dbt YAML alone; ``render.catalog`` lists them for the CLI, ``doc`` for
docs/SEMANTIC_LAYER.md.
"""

from dagster_project.semantic.layer import (
    MetricInfo,
    QueryResult,
    SemanticLayer,
    SemanticLayerError,
)

__all__ = ["MetricInfo", "QueryResult", "SemanticLayer", "SemanticLayerError"]
