"""Move column-level not_null and value_between tests of dbt_models/models/**.yml into one
model-level columns_not_null / columns_between test per model (and per distinct config).

One node per model instead of one per column: dbt's fixed cost per test node dominated the
build. Kept to re-run on YAML from branches written before the change. Round-trips the YAML
with ruamel (comments, descriptions and flow lists stay); other tests stay where they are.
Run from the repository root (``.venv/bin/python tools/group_column_tests.py``); idempotent,
but a second run appends a second grouped test when it finds new column tests.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

GROUPED = {"not_null": "columns_not_null", "value_between": "columns_between"}
# not_null's and value_between's default severity: a config saying only this is no config.
DEFAULT_CONFIGS = ({}, {"severity": "error"})


def _flow(items: list) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map(pairs: dict) -> CommentedMap:
    m = CommentedMap(pairs)
    m.fa.set_flow_style()
    return m


def _split(test: object) -> tuple[str, dict, dict] | None:
    """(kind, arguments, config) of a not_null/value_between test, else None."""
    if isinstance(test, str):
        return (test, {}, {}) if test in GROUPED else None
    if isinstance(test, dict) and len(test) == 1:
        kind, body = next(iter(test.items()))
        if kind in GROUPED:
            body = dict(body or {})
            unknown = set(body) - {"arguments", "config"}
            if unknown:
                raise SystemExit(f"{kind} with {sorted(unknown)}: not handled")
            return kind, dict(body.get("arguments") or {}), dict(body.get("config") or {})
    return None


def _wrap(text: str, width: int = 100) -> str:
    """Wrap the long flow lists this script writes (``columns: [a, b, ...]``)."""
    lines = []
    for line in text.splitlines():
        match = re.match(r"^(\s*)columns: \[(.*)\]$", line)
        if not match or len(line) <= width:
            lines.append(line)
            continue
        indent, items = match.group(1), match.group(2).split(", ")
        current = f"{indent}columns: ["
        for i, item in enumerate(items):
            piece = item + ("]" if i == len(items) - 1 else ",")
            if len(current) + len(piece) + 1 > width and not current.endswith("["):
                lines.append(current.rstrip())
                current = indent + "  "
            current += piece if current.endswith(("[", " ")) else " " + piece
        lines.append(current)
    return "\n".join(lines) + "\n"


def group_model(model: CommentedMap) -> int:
    """Rewrite one model in place; return the number of column tests moved."""
    groups: dict[tuple[str, str], list] = {}  # (kind, config json) -> columns or ranges
    configs: dict[str, dict] = {}
    moved = 0
    for column in model.get("columns") or []:
        tests = column.get("data_tests")
        if not tests:
            continue
        kept = []
        for test in tests:
            split = _split(test)
            if split is None:
                kept.append(test)
                continue
            kind, args, config = split
            config = {} if config in DEFAULT_CONFIGS else config
            key = json.dumps(config, sort_keys=True)
            configs[key] = config
            entry: object
            if kind == "not_null":
                if args:
                    raise SystemExit(f"not_null with arguments {args}: not handled")
                entry = column["name"]
            else:
                if set(args) - {"min_value", "max_value"}:
                    raise SystemExit(f"value_between with arguments {args}: not handled")
                entry = _flow_map({"column": column["name"], **args})
            groups.setdefault((kind, key), []).append(entry)
            moved += 1
        if kept:
            if isinstance(tests, CommentedSeq) and tests.fa.flow_style():
                column["data_tests"] = _flow(kept)
            else:
                del tests[:]
                tests.extend(kept)
        else:
            del column["data_tests"]
    if not groups:
        return 0
    model_tests = model.get("data_tests")
    if model_tests is None:
        model_tests = CommentedSeq()
        # Before `columns`: after it, ruamel would put the blank line that ends the model
        # between the columns and the new tests.
        model.insert(list(model).index("columns"), "data_tests", model_tests)
    for kind, grouped in GROUPED.items():  # not_null first, then ranges; default config first
        for (k, key), entries in sorted(groups.items(), key=lambda kv: kv[0][1] != "{}"):
            if k != kind:
                continue
            config = configs[key]
            name = f"{grouped}_{model['name']}"
            if config:
                name += "_" + "_".join(str(v) for v in config.values())
            body = CommentedMap()
            body["name"] = name
            args = CommentedMap()
            if kind == "not_null":
                args["columns"] = _flow(entries)
            else:
                args["ranges"] = CommentedSeq(entries)
            body["arguments"] = args
            if config:
                body["config"] = CommentedMap(config)
            model_tests.append(CommentedMap({grouped: body}))
    return moved


def main(root: Path) -> int:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the descriptions; long column lists: _wrap
    yaml.indent(mapping=2, sequence=4, offset=2)
    total = 0
    for path in sorted((root / "dbt_models" / "models").rglob("*.yml")):
        doc = yaml.load(path.read_text())
        moved = sum(group_model(m) for m in (doc or {}).get("models") or [])
        if moved:
            out = io.StringIO()
            yaml.dump(doc, out)
            path.write_text(_wrap(out.getvalue()))
            print(f"{path.relative_to(root)}: {moved} column tests grouped")
            total += moved
    print(f"{total} column tests grouped")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
