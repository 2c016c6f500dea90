"""The published marts of the e2e demo build against the independent reference
(tests/reference, written from docs/METRICS.md and docs/LANDING.md, not from the SQL), computed
from the demo's landing files: every mart, column by column (money to 1e-6, rates to 1e-9,
counts exact). Reuses the session build (`built`)."""

from __future__ import annotations

import pytest

from tests.reference import Config, compare_table, compute, read_landing
from tests.reference.compare import KEYS, mart_rows


@pytest.fixture(scope="module")
def reference(demo_landing) -> dict[str, list[dict]]:
    config = Config()
    return compute(read_landing(demo_landing, config), config)


@pytest.mark.parametrize("mart", sorted(KEYS))
def test_published_mart_matches_the_reference(built, reference, mart: str) -> None:
    settings, _ = built
    assert reference[mart], f"the reference has no {mart} rows"
    diff = compare_table(mart, mart_rows(settings.serving_path, mart), reference[mart])
    assert not diff, "\n".join(diff.problems)
