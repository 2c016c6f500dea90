"""docs/LANDING.md is generated from the contract in code: current, and complete?"""

from dagster_project.contract import SOURCES
from dagster_project.landing_doc import DOC_PATH, render


def test_docs_landing_md_is_current() -> None:
    assert DOC_PATH.read_text() == render(), (
        "docs/LANDING.md is out of date: run `.venv/bin/python -m dagster_project.landing_doc`"
    )


def test_every_source_column_and_quarantine_reason_is_listed() -> None:
    text = render()
    for source in SOURCES.values():
        assert f"### `{source.name}`" in text
        for column in source.columns:
            assert f"| `{column.name}` |" in text
    for reason in ("| unparsable timestamp in column <column> |",
                   "| value out of range in column <column> (at most <bound>) |",
                   "| not an ISO 4217 currency code in column <column> |",
                   "| negative amount in column <column> |",
                   "| duplicate <key> with different content (also in <file>:<line>) |",
                   "| score out of range for nps (0-10) in column score |",
                   "| invalid JSON line |"):
        assert reason in text
