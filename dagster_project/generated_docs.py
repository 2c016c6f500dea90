"""The documents generated from the code (docs/LANDING.md, docs/METRICS.md, docs/MARTS.md):
their text from a list of lines, and the ``main`` that rewrites one."""

from __future__ import annotations

from pathlib import Path


def markdown(lines: list[str]) -> str:
    """The lines as a document's text: no blank line at its end, one final newline."""
    return "\n".join(lines).rstrip() + "\n"


def write_doc(path: Path, text: str) -> int:
    """Write a generated document and say where (the exit code of its ``main``)."""
    path.write_text(text)
    print(f"wrote {path}")
    return 0
