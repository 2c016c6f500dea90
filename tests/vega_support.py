"""Reading the KPI report's Vega-Lite charts in tests: the data rows a spec carries, and
the marks vl-convert lays out for it (its scenegraph), which is what the charts show."""

from collections.abc import Iterator
from typing import Any

from dagster_project.reports import charts


def spec_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline data row of a spec (its own and its layers')."""
    out: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                out.extend(data["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return out


def scene_items(spec: dict[str, Any], marktype: str, role: str = "mark") -> list[dict[str, Any]]:
    """The items of the data marks of one type (rect, rule, symbol...) as vl-convert lays
    the spec out (or of another role: "axis-label", "legend-label", ...)."""
    import vl_convert

    scene = vl_convert.vegalite_to_scenegraph(spec, vl_version=charts.VL_VERSION)

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("marktype") == marktype and node.get("role") == role:
                yield from node.get("items", [])
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return list(walk(scene))
