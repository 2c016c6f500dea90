"""The published marts, documented from the dbt YAML: ``docs/MARTS.md`` and the README's
marts table. ``python -m dagster_project.marts_doc`` rewrites both; a unit test fails when
either is out of date, so the README stays true when a mart or column changes."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import yaml

from dagster_project.generated_docs import markdown
from dagster_project.settings import DBT_PROJECT_DIR, PROJECT_ROOT

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
DOC_PATH = PROJECT_ROOT / "docs" / "MARTS.md"
README_PATH = PROJECT_ROOT / "README.md"
BEGIN, END = "<!-- marts-table -->", "<!-- /marts-table -->"
# These tables keep their published columns (a contract with BI users); others may change.
CONTRACT_TABLES = (
    "saas_metrics_monthly", "mrr_movements_monthly", "customer_cohorts_monthly",
    "product_usage_daily", "user_cohorts_monthly", "nps_monthly", "leads_monthly",
    "kpi_scorecard",
)
AREAS = {"revenue": "Revenue", "product": "Usage, growth and satisfaction",
         "sales": "Revenue structure and sales", "scorecard": "Scorecard"}


@dataclass(frozen=True)
class Mart:
    name: str
    area: str
    description: str
    columns: list[tuple[str, str]]


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _python_marts() -> list[Mart]:
    """Marts built by Python assets (not in the dbt YAML)."""
    from dagster_project.transform import buying_trend

    doc = (buying_trend.__doc__ or "").strip().split("\n\n")
    return [Mart(
        "buying_trend_monthly", "sales",
        "Buying trend per customer segment and month (a Python asset downstream of "
        "revenue_by_segment_monthly): monthly revenue, 3-month moving average, simple "
        "exponential smoothing (smoothing_alpha) and a flat forecast for the next "
        "forecast_months months with an approximate 95% band. " + _text(" ".join(doc[1:3])),
        [(c, "") for c in buying_trend.COLUMNS],
    )]


# libyaml's loader where PyYAML has it: the marts' YAML (read by every publish, for the
# comments BI tools see) in ~0.01 s instead of ~0.085 s; the same values.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_marts() -> list[Mart]:
    marts: list[Mart] = []
    for path in sorted(MARTS_DIR.glob("*/_*__models.yml")):
        area = path.parent.name
        for model in (yaml.load(path.read_text(), Loader=_LOADER) or {}).get("models", []):
            columns = [(c["name"], _text(c.get("description"))) for c in model.get("columns", [])]
            marts.append(Mart(model["name"], area, _text(model.get("description")), columns))
    marts += _python_marts()
    order = list(AREAS)
    contract = {name: i for i, name in enumerate(CONTRACT_TABLES)}
    return sorted(marts, key=lambda m: (order.index(m.area) if m.area in order else 99,
                                        contract.get(m.name, 99), m.name))


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?\.)(\s|$)", text)
    return (match.group(1) if match else text).rstrip(".")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_doc(marts: list[Mart]) -> str:
    lines = [
        "# Published marts",
        "",
        ("Generated from the dbt models' YAML by `python -m dagster_project.marts_doc`; do not "
         "edit by hand. Every table is in the serving database (`data/serving.duckdb`, schema "
         "`marts`) and in `data/serving/parquet/<table>.parquet`. Money is in the reporting "
         "currency, unrounded; rates are fractions (0.05 = 5%) except `nps` and "
         "`lead_velocity_rate_pct`. What each KPI means: [METRICS.md](METRICS.md); readings we "
         "chose: the metric notes (`docs/metrics_notes_*.md`). Tables marked *contract* keep "
         "their published columns (more may be added; none removed). The serving database "
         "carries these descriptions as table and column comments."),
        "",
    ]
    for area, title in AREAS.items():
        lines += [f"## {title}", ""]
        for mart in (m for m in marts if m.area == area):
            tag = " (contract)" if mart.name in CONTRACT_TABLES else ""
            lines += [f'<a id="{mart.name}"></a>', "", f"### `marts.{mart.name}`{tag}", "",
                      mart.description, "",
                      "| column | meaning |", "|---|---|"]
            lines += [f"| `{c}` | {_cell(d)} |" for c, d in mart.columns]
            lines.append("")
    return markdown(lines)


def render_readme_table(marts: list[Mart]) -> str:
    lines = [BEGIN, "", "| mart | area | grain and content |", "|---|---|---|"]
    for mart in marts:
        tag = " *(contract)*" if mart.name in CONTRACT_TABLES else ""
        lines.append(f"| [`{mart.name}`](docs/MARTS.md#{mart.name}){tag} "
                     f"| {AREAS.get(mart.area, mart.area)} | {_cell(_first_sentence(mart.description))} |")
    lines += ["", "Every column of every mart: [`docs/MARTS.md`](docs/MARTS.md).", "", END]
    return "\n".join(lines)


def readme_with_table(readme: str, marts: list[Mart]) -> str:
    table = render_readme_table(marts)
    if END in readme:
        start, end = readme.index(BEGIN), readme.index(END) + len(END)
        return readme[:start] + table + readme[end:]
    return readme.replace(BEGIN, table, 1)


SETTINGS_BEGIN, SETTINGS_END = "<!-- settings-table -->", "<!-- /settings-table -->"


def readme_with_settings(readme: str) -> str:
    """The README with its settings table generated from settings.setting_help()."""
    from dagster_project.settings import DEFAULTS_IN_WORDS, setting_help

    words = set(DEFAULTS_IN_WORDS.values())
    rows = [f"| `{var}` | {f'`{default}`' if default and default not in words else default} "
            f"| {_cell(meaning)} |" for var, default, meaning in setting_help()]
    table = "\n".join([SETTINGS_BEGIN, "", "| variable | default | meaning |", "|---|---|---|",
                       *rows, "", SETTINGS_END])
    start = readme.index(SETTINGS_BEGIN)
    end = readme.index(SETTINGS_END) + len(SETTINGS_END)
    return readme[:start] + table + readme[end:]


def main() -> int:
    marts = load_marts()
    DOC_PATH.write_text(render_doc(marts))
    README_PATH.write_text(readme_with_settings(readme_with_table(README_PATH.read_text(), marts)))
    print(f"wrote {DOC_PATH}, the marts and settings tables of {README_PATH} ({len(marts)} marts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
