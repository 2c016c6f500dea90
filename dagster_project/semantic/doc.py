"""The metric catalog of ``docs/SEMANTIC_LAYER.md``, generated from the semantic manifest
(``python -m dagster_project.semantic.doc``; a test keeps it current)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dagster_project.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "SEMANTIC_LAYER.md"
BEGIN, END = "<!-- metric-catalog -->", "<!-- /metric-catalog -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _measure_formula(measure: dict[str, Any], model: str) -> str:
    expr = measure.get("expr") or measure["name"]
    agg = measure["agg"]
    text = f"{agg}({expr}) of `{model}`"
    nad = measure.get("non_additive_dimension")
    if nad:
        text += f", at the period's {'last' if nad['window_choice'] == 'max' else 'first'} {nad['name']}"
    return text


def catalog_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(name, label, definition, formula, grouped by) per metric, by name."""
    measures: dict[str, tuple[dict[str, Any], str, set[str]]] = {}
    for sm in manifest["semantic_models"]:
        dims = {d["name"] for d in sm["dimensions"] if d["type"] == "categorical"}
        for m in sm["measures"]:
            measures[m["name"]] = (m, sm["node_relation"]["alias"], dims)
    metrics = {m["name"]: m for m in manifest["metrics"]}

    def dims_of(name: str) -> set[str]:
        metric = metrics[name]
        found: set[str] | None = None
        for measure in metric["type_params"]["input_measures"]:
            dims = measures[measure["name"]][2]
            found = dims if found is None else found & dims
        return found or set()

    rows = []
    for name in sorted(metrics):
        metric = metrics[name]
        params = metric["type_params"]
        kind = metric["type"]
        if kind == "simple":
            m, model, _ = measures[params["measure"]["name"]]
            formula = _measure_formula(m, model)
        elif kind == "ratio":
            num, den = params["numerator"], params["denominator"]
            num_text = f"`{num['name']}`" + (f" where {num['filter']['where_filters'][0]['where_sql_template']}"
                                             if num.get("filter") else "")
            formula = f"{num_text} / `{den['name']}`"
        else:
            formula = _cell(params["expr"])
            offsets = [f"{i.get('alias') or i['name']} = `{i['name']}` {i['offset_window']} before"
                       for i in params["metrics"] if i.get("offset_window")]
            if offsets:
                formula += " (" + "; ".join(offsets) + ")"
        if (metric.get("config") or {}).get("meta", {}).get("finest_grain_only"):
            formula += "; monthly periods only"
        by = ", ".join(sorted(dims_of(name))) or "time only"
        rows.append((name, metric.get("label") or name, _cell(metric.get("description") or ""),
                     _cell(formula), by))
    return rows


def render_catalog(manifest: dict[str, Any]) -> str:
    lines = [BEGIN, "", "| metric | label | definition | computed as | grouped by (besides time) |",
             "|---|---|---|---|---|"]
    lines += [f"| `{n}` | {label} | {d} | {f} | {by} |" for n, label, d, f, by in catalog_rows(manifest)]
    lines += ["", END]
    return "\n".join(lines)


def doc_with_catalog(doc: str, manifest: dict[str, Any]) -> str:
    start, end = doc.index(BEGIN), doc.index(END) + len(END)
    return doc[:start] + render_catalog(manifest) + doc[end:]


def load_manifest() -> dict[str, Any]:
    from dagster_project.transform.manifest import SEMANTIC_MANIFEST_PATH, ensure_manifest

    ensure_manifest()
    return json.loads(Path(SEMANTIC_MANIFEST_PATH).read_text())


def main() -> int:
    manifest = load_manifest()
    DOC_PATH.write_text(doc_with_catalog(DOC_PATH.read_text(), manifest))
    print(f"wrote the metric catalog of {DOC_PATH} ({len(manifest['metrics'])} metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
