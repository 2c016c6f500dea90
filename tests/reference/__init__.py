"""An independent reference for the published marts, written from docs/METRICS.md and
docs/LANDING.md (and the readings in docs/metrics_notes_*.md where docs/METRICS.md leaves room),
not from the SQL: plain Python on small data.

    landed = read_landing(Path("data/landing"))          # or from_csv_texts({...})
    marts = compute(landed, Config(reporting_timezone="America/New_York"))
    problems = compare_all(Path("data/serving.duckdb"), marts)

``python -m tests.reference --help`` runs the comparison by hand on a generated data set.
"""

from __future__ import annotations

from tests.reference import revenue, sales, scorecard, usage
from tests.reference.base import Context
from tests.reference.common import Config
from tests.reference.compare import compare_all, compare_table
from tests.reference.landing import Landed, from_csv_texts, read_landing

__all__ = [
    "Config",
    "Landed",
    "compare_all",
    "compare_table",
    "compute",
    "from_csv_texts",
    "read_landing",
]


def compute(landed: Landed, config: Config | None = None) -> dict[str, list[dict]]:
    """Every mart the reference knows, as lists of row dicts (money as exact fractions)."""
    ctx = Context(landed, config or Config())
    if ctx.as_of is None:
        return {}
    rev = revenue.Revenue(ctx)
    marts: dict[str, list[dict]] = {}
    marts.update(revenue.compute(ctx, rev))
    marts.update(usage.compute(ctx))
    marts.update(sales.compute(ctx, rev, marts["dim_customers"]))
    acts = scorecard.actuals(ctx, rev, marts)
    marts["kpi_actuals"] = scorecard.kpi_actuals(acts)
    marts["kpi_scorecard"] = scorecard.kpi_scorecard(ctx, acts)
    return marts
