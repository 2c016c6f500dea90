"""docs/MARTS.md and the README's marts table are generated from the dbt YAML: current?"""

from dagster_project.marts_doc import (
    CONTRACT_TABLES,
    DOC_PATH,
    README_PATH,
    load_marts,
    readme_with_table,
    render_doc,
)


def test_every_contract_table_is_documented_with_its_columns() -> None:
    marts = {m.name: m for m in load_marts()}
    assert set(CONTRACT_TABLES) <= set(marts)
    columns = [c for c, _ in marts["saas_metrics_monthly"].columns]
    assert columns[:3] == ["month", "mrr_start", "new_mrr"] and "cac_payback_months" in columns
    assert all(m.description for m in marts.values()), [n for n, m in marts.items() if not m.description]


def test_docs_marts_md_is_current() -> None:
    assert DOC_PATH.read_text() == render_doc(load_marts()), (
        "docs/MARTS.md is out of date: run `.venv/bin/python -m dagster_project.marts_doc`"
    )


def test_the_readme_marts_table_is_current() -> None:
    readme = README_PATH.read_text()
    assert readme == readme_with_table(readme, load_marts()), (
        "the README's marts table is out of date: run `.venv/bin/python -m dagster_project.marts_doc`"
    )


def test_the_readme_settings_table_is_current_and_every_setting_is_explained() -> None:
    from dagster_project.marts_doc import readme_with_settings
    from dagster_project.settings import _ENV, MEANINGS

    assert set(MEANINGS) == set(_ENV)
    readme = README_PATH.read_text()
    assert readme == readme_with_settings(readme), (
        "the README's settings table is out of date: run `.venv/bin/python -m dagster_project.marts_doc`"
    )
