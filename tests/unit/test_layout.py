"""The layout rule (docs/ARCHITECTURE.md, "Where code lives"): the library packages hold
the logic and never import Dagster; ``defs/<domain>/`` wires them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dagster_project"
LIBRARIES = ("ingest", "transform", "quality", "publish", "reports", "semantic")
# Libraries with Dagster wiring in defs/<name>/ (the semantic layer is used by the CLI alone).
WIRED = ("ingest", "transform", "quality", "publish", "reports")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_library_package_never_imports_dagster(library: str) -> None:
    found = {f"{path.relative_to(PACKAGE)}: {name}"
             for path in sorted((PACKAGE / library).rglob("*.py"))
             for name in _imported(path)
             if name.split(".")[0] in {"dagster", "dagster_dbt", "dagster_duckdb"}
             or name.startswith("dagster_project.defs")}
    assert not found, found


def test_every_domain_of_defs_has_its_library_package() -> None:
    domains = {p.name for p in (PACKAGE / "defs").iterdir()
               if p.is_dir() and any(p.glob("*.py"))}  # not a stale __pycache__ alone
    assert domains == set(WIRED)
