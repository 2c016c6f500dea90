"""docs/METRICS.md is generated from the report's definitions and the semantic layer's
metrics: current, and complete?"""

from dagster_project.metrics_doc import DOC_PATH, render
from dagster_project.reports.report_page import DEFINITIONS


def test_docs_metrics_md_is_current() -> None:
    assert DOC_PATH.read_text() == render(), (
        "docs/METRICS.md is out of date: run `.venv/bin/python -m dagster_project.metrics_doc`"
    )


def test_every_definition_of_the_report_is_on_the_page_under_its_section() -> None:
    text = render()
    for term, _, section in DEFINITIONS.values():
        heading, item = f"\n## {section.split(';')[0].strip()}\n", f"\n### {term}\n"
        assert heading in text and item in text
        assert text.index(heading) < text.index(item)


def test_every_metric_of_the_semantic_layer_is_listed_with_its_label_and_definition() -> None:
    from dagster_project.semantic.doc import load_manifest

    text = render()
    catalog = text[text.index("## Every metric, as the semantic layer defines it"):]
    metrics = load_manifest()["metrics"]
    assert len(metrics) >= 70
    for metric in metrics:
        description = " ".join(metric["description"].split())
        assert f"| `{metric['name']}` | {metric['label']} | {description} |" in catalog, metric["name"]
