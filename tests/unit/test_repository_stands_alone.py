"""A clone has nothing outside the repository: no tracked file may point there, and every
docs/ page a file names exists."""

from __future__ import annotations

import re
import subprocess

from dagster_project.settings import PROJECT_ROOT

TEXT = (".py", ".sql", ".yml", ".yaml", ".md", ".toml", ".cfg", ".json", ".txt", ".csv",
        ".html", ".sh", "Makefile", "run")
# Paths that leave the repository, and spec files a clone does not have (METRICS.md is
# docs/METRICS.md, which it has).
OUTSIDE = re.compile(r"\.\./shared|(?<![\w/])(?:DATA_CONTRACT|STACK_NOTES|STYLE)\.md")
DOC_REF = re.compile(r"docs/([\w.-]+\.md)")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return [f for f in out if f.endswith(TEXT)]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    found = []
    for name in _tracked():
        text = (PROJECT_ROOT / name).read_text(errors="replace")
        found += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert not found, found[:10]


def test_every_docs_page_named_exists() -> None:
    missing = set()
    for name in _tracked():
        for match in DOC_REF.finditer((PROJECT_ROOT / name).read_text(errors="replace")):
            if not (PROJECT_ROOT / "docs" / match.group(1)).exists():
                missing.add(f"{name}: docs/{match.group(1)}")
    assert not missing, sorted(missing)[:10]
