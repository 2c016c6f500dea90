"""MetricFlow over the serving database.

MetricFlow plans a query from the semantic manifest that ``dbt parse`` writes
(``semantic_manifest.json``) and renders DuckDB SQL; :class:`DuckDbClient` runs it on an
in-memory DuckDB with the serving database attached read-only under the catalog name the
manifest's relations carry (the warehouse file's stem), so the SQL that would run on the
warehouse runs on the published copy instead. No dbt adapter and no profile are involved.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import duckdb

from dagster_project.errors import MetricsError

GRAINS = ("day", "week", "month", "quarter", "year")


class SemanticLayerError(MetricsError):
    """A query the semantic layer cannot answer (unknown metric or dimension, no serving
    database, ...), with a message a person can act on."""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    description: str
    type: str
    dimensions: tuple[str, ...]  # what it can be grouped by besides time (short names)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _client_class() -> type:
    from metricflow.data_table.mf_table import MetricFlowDataTable
    from metricflow.protocols.sql_client import SqlEngine
    from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

    class DuckDbClient:
        """MetricFlow's ``SqlClient`` on a DuckDB connection (the protocol's methods only)."""

        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self._con = con
            self._renderer = DuckDbSqlPlanRenderer()

        @property
        def sql_engine_type(self) -> SqlEngine:
            return SqlEngine.DUCKDB

        @property
        def sql_plan_renderer(self) -> DuckDbSqlPlanRenderer:
            return self._renderer

        def query(self, stmt: str, sql_bind_parameter_set: Any = None) -> MetricFlowDataTable:
            params = dict(sql_bind_parameter_set.param_dict) if sql_bind_parameter_set else {}
            cursor = self._con.execute(stmt, params or None)
            names = [d[0] for d in cursor.description or []]
            return MetricFlowDataTable.create_from_rows(column_names=names, rows=cursor.fetchall())

        def execute(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
            params = dict(sql_bind_parameter_set.param_dict) if sql_bind_parameter_set else {}
            self._con.execute(stmt, params or None)

        def dry_run(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
            self._con.execute(f"explain {stmt}")

        def close(self) -> None:
            self._con.close()

        def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
            return f"${bind_parameter_key}"

    return DuckDbClient


def _catalog_of(manifest: dict[str, Any]) -> str:
    names = {sm["node_relation"].get("database") for sm in manifest.get("semantic_models", [])}
    names.discard(None)
    if len(names) != 1:
        raise SemanticLayerError(f"the semantic models name {len(names)} databases ({sorted(names)}); "
                                 "expected the warehouse alone")
    return str(names.pop())


class SemanticLayer:
    """The metrics of ``semantic_manifest`` (a dbt-written ``semantic_manifest.json``),
    answered from the DuckDB file ``serving_path`` (opened read-only)."""

    def __init__(self, serving_path: Path, semantic_manifest: Path) -> None:
        if not Path(serving_path).exists():
            raise SemanticLayerError(
                f"no serving database at {serving_path}: run `product-metrics build` first "
                "(queries read the published marts of the last build that passed its checks)")
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.dbt_manifest_parser import (
            parse_manifest_from_dbt_generated_manifest,
        )
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        raw = semantic_manifest.read_text()
        self.catalog = _catalog_of(json.loads(raw))
        manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=raw)
        con = duckdb.connect(":memory:")
        path = str(Path(serving_path).resolve()).replace("'", "''")
        alias = self.catalog.replace('"', '""')
        con.execute(f"attach '{path}' as \"{alias}\" (read_only)")
        self._client = _client_class()(con)
        self.engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=self._client)
        self._manifest = manifest

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- catalog -------------------------------------------------------------------------

    def metric_names(self) -> list[str]:
        return sorted(m.name for m in self._manifest.metrics)

    def finest_grain_only(self) -> set[str]:
        """Metrics defined per month only (``meta: finest_grain_only``): summing their
        months would not give a quarter's value, so coarser grains are refused."""
        return {m.name for m in self._manifest.metrics
                if m.config is not None and (m.config.meta or {}).get("finest_grain_only")}

    def metrics(self) -> list[MetricInfo]:
        infos = []
        for m in sorted(self.engine.list_metrics(), key=lambda m: m.name):
            dims = sorted({d.name for d in m.dimensions
                           if d.name != "metric_time" and not _is_time(d)})
            infos.append(MetricInfo(
                name=m.name, label=m.label or m.name,
                description=" ".join((m.description or "").split()),
                type=str(getattr(m.type, "value", m.type)), dimensions=tuple(dims)))
        return infos

    def _dimensions(self, metrics: Sequence[str]) -> dict[str, list[str]]:
        """short name -> qualified names MetricFlow accepts for all of ``metrics``."""
        found: dict[str, list[str]] = {}
        for d in self.engine.simple_dimensions_for_metrics(list(metrics)):
            if _is_time(d):
                continue
            found.setdefault(d.name, []).append(d.dunder_name)
        return found

    def _check_metrics(self, metrics: Sequence[str]) -> None:
        known = set(self.metric_names())
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise SemanticLayerError(
                f"unknown metric(s): {', '.join(unknown)}; `product-metrics query --list` shows "
                f"the {len(known)} metrics")
        if not metrics:
            raise SemanticLayerError("name at least one metric (`product-metrics query --list`)")

    def resolve_dimension(self, metrics: Sequence[str], name: str) -> str:
        """``segment`` -> ``mrr_bridge__segment`` (a qualified name passes through)."""
        dims = self._dimensions(metrics)
        if "__" in name:
            if any(name in q for q in dims.values()):
                return name
            raise SemanticLayerError(f"{name}: not a dimension of {', '.join(metrics)}; they "
                                     f"can be grouped by: {', '.join(sorted(dims)) or 'time only'}")
        qualified = dims.get(name, [])
        if len(qualified) == 1:
            return qualified[0]
        if not qualified:
            shared = ", ".join(sorted(dims)) or "time only"
            if len(metrics) == 1:
                raise SemanticLayerError(f"{name}: not a dimension of {metrics[0]}; it can be "
                                         f"grouped by: {shared}")
            raise SemanticLayerError(
                f"{name}: not a dimension every metric of {', '.join(metrics)} has; together "
                f"they can be grouped by: {shared} (query them one at a time to slice each by "
                "its own dimensions)")
        raise SemanticLayerError(f"{name} is ambiguous here: {', '.join(sorted(qualified))}; "
                                 "name one of them")

    # ---- queries -------------------------------------------------------------------------

    def query(self, metrics: Sequence[str], by: Sequence[str] = (), grain: str | None = "month",
              start: dt.date | None = None, end: dt.date | None = None,
              where: Sequence[str] = (), limit: int | None = None) -> QueryResult:
        """The values of ``metrics`` per period of ``grain`` (None: no time column) and per
        value of each dimension in ``by``; periods from ``start`` through ``end``."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        metrics = list(metrics)
        self._check_metrics(metrics)
        group_by = self._group_by(metrics, by, grain)
        request = MetricFlowQueryRequest.create(
            metric_names=metrics,
            group_by_names=group_by,
            order_by_names=group_by or None,
            time_constraint_start=(dt.datetime.combine(start, dt.time()) if start else None),
            time_constraint_end=(dt.datetime.combine(end, dt.time()) if end else None),
            where_constraints=list(where) or None,
            limit=limit,
        )
        began = time.perf_counter()
        try:
            result = self.engine.query(request)
        except SemanticLayerError:
            raise
        except Exception as exc:  # MetricFlow's own errors explain the query at fault
            message = " ".join(str(exc).split())
            raise SemanticLayerError(f"MetricFlow cannot answer this query: {message[:1500]}") from exc
        table = result.result_df
        assert table is not None
        # Columns in the order asked: the period, the dimensions, then the metrics.
        names = list(table.column_names)
        order = [names.index(c) for c in [*group_by, *metrics] if c in names]
        order += [i for i in range(len(names)) if i not in order]
        columns = [_short(names[i]) for i in order]
        rows = [tuple(_cell(r[i], grain) for i in order) for r in table.rows]
        return QueryResult(columns=columns, rows=rows, sql=result.sql,
                           seconds=time.perf_counter() - began)

    def explain(self, metrics: Sequence[str], by: Sequence[str] = (),
                grain: str | None = "month") -> str:
        """The SQL ``query`` would run (the same checks first)."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        self._check_metrics(metrics)
        request = MetricFlowQueryRequest.create(
            metric_names=list(metrics), group_by_names=self._group_by(metrics, by, grain))
        return self.engine.explain(request).sql_statement.sql

    def _group_by(self, metrics: Sequence[str], by: Sequence[str], grain: str | None) -> list[str]:
        """MetricFlow's group-by names: the period of ``grain``, then each dimension; a
        monthly-only metric at another grain is refused."""
        if grain is not None and grain not in GRAINS:
            raise SemanticLayerError(f"grain {grain!r}: one of {', '.join(GRAINS)}")
        monthly = sorted(set(metrics) & self.finest_grain_only())
        if monthly and grain != "month":
            raise SemanticLayerError(
                f"{', '.join(monthly)}: defined per month only (a quarter's value is not made "
                "of its months' values); query with --grain month, or read the quarterly values "
                "in marts.kpi_scorecard")
        return ([f"metric_time__{grain}"] if grain else []) + [
            self.resolve_dimension(metrics, d) for d in by]


def _is_time(dimension: Any) -> bool:
    return str(getattr(dimension.type, "value", dimension.type)).lower() == "time"


def _cell(value: Any, grain: str | None) -> Any:
    """Periods as dates (MetricFlow returns the start of a period as a timestamp)."""
    if isinstance(value, dt.datetime) and grain in GRAINS:
        return value.date()
    return value


def _short(column: str) -> str:
    """``metric_time__month`` -> ``month``; ``mrr_bridge__segment`` -> ``segment``."""
    return column.rsplit("__", 1)[-1] if "__" in column else column
