"""render_scorecard (dagster_project/reports/scorecard.py) over a hand-made marts.kpi_scorecard."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.errors import MetricsError
from dagster_project.reports.scorecard import parse_period, render_scorecard

ROWS = [
    # kpi, grain, period_start, actual, target, attainment, status, previous, change, direction, unit
    ("nps", "month", "2025-05-01", 30.0, 30.0, 1.0, "on_track", 25.0, 5.0, "higher_is_better", "score"),
    ("nps", "month", "2025-06-01", 20.0, 24.0, 20 / 24, "at_risk", 30.0, -10.0, "higher_is_better", "score"),
    ("nps", "month", "2025-07-01", None, 30.0, None, "no_data", 20.0, None, "higher_is_better", "score"),
    ("logo_churn_rate", "month", "2025-06-01", 0.04, 0.03, 0.75, "off_track", 0.02, 0.02,
     "lower_is_better", "fraction"),
    ("mrr_growth_rate", "quarter", "2025-04-01", 0.06, 0.05, 1.2, "on_track", 0.04, 0.02,
     "higher_is_better", "fraction"),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("create schema marts")
    c.execute("""create table marts.kpi_scorecard (kpi varchar, grain varchar, period_start date,
                 actual double, target double, attainment double, status varchar,
                 previous_actual double, change double, direction varchar, unit varchar)""")
    c.executemany("insert into marts.kpi_scorecard values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    return c


def test_latest_period_of_each_kpi_with_data(con: duckdb.DuckDBPyConnection) -> None:
    # nps: 2025-07 has no data, so its latest period with an actual, 2025-06, is shown.
    out = render_scorecard(con, color=False)
    assert "2025-06" in out and "2025-07" not in out and "2025-05" not in out
    assert "at_risk" in out and "off_track" in out and "on_track" in out
    assert "2025-Q2" in out
    assert "3 targets" in out
    assert "\033[" not in out


def test_statuses_of_a_month(con: duckdb.DuckDBPyConnection) -> None:
    out = render_scorecard(con, period="2025-06", color=False)
    lines = out.splitlines()
    nps = next(line for line in lines if line.startswith("nps"))
    churn = next(line for line in lines if line.startswith("logo_churn_rate"))
    assert "▲ at_risk" in nps and "83%" in nps           # 20 / 24
    assert "✖ off_track" in churn and "4.0%" in churn and "≤ 3.0%" in churn
    assert "+2.0 pp" in churn
    assert "mrr_growth_rate" not in out                  # quarterly, not in a month's view


def test_no_data_and_quarter_filter(con: duckdb.DuckDBPyConnection) -> None:
    assert "· no_data" in render_scorecard(con, period="2025-07", color=False)
    out = render_scorecard(con, period="2025-q2", color=False)
    assert "mrr_growth_rate" in out and "✔ on_track" in out and "120%" in out


def test_colours_when_asked(con: duckdb.DuckDBPyConnection) -> None:
    out = render_scorecard(con, period="2025-06", color=True)
    assert "\033[33m" in out and "\033[31m" in out      # yellow at_risk, red off_track


def test_an_empty_period_says_so(con: duckdb.DuckDBPyConnection) -> None:
    assert "No KPI targets for 2024-01" in render_scorecard(con, period="2024-01", color=False)


def test_a_bad_period_is_a_user_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(MetricsError, match="YYYY-MM or YYYY-Qn"):
        render_scorecard(con, period="June", color=False)
    with pytest.raises(MetricsError):
        parse_period("2025-13")


@pytest.mark.parametrize(("attainment", "text"), [
    (None, "—"), (0.4, "40%"), (1.0, "100%"), (0.998, "99.8%"), (1.004, "100.4%"),
    (1.52, "152%"), (2.0, "200%"), (2.7, "> 200%"), (-0.55, "n/m"), (0.0, "0%"),
])
def test_attainment_reads_as_a_person_expects(attainment, text) -> None:
    """100% only when on target exactly (0.998 is at risk, not "100%"); a ratio across zero
    is n/m; far above target is capped in words."""
    from dagster_project.reports.scorecard import attainment_text

    assert attainment_text(attainment) == text
