"""Every subcommand's --help says what each flag defaults to, and `build` and `ui` list
every setting with its default and meaning, as the top-level help does."""

from __future__ import annotations

import pytest

from dagster_project.cli import build_parser
from dagster_project.settings import setting_help


def _help(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["build", "ui"])
def test_build_and_ui_help_list_every_setting_with_its_default(command, capsys) -> None:
    text = _help(command, capsys=capsys)
    for var, default, meaning in setting_help():
        assert var in text, var
        if default:
            assert f"{var} (default {default})" in text, var
        assert " ".join(meaning.split()) in text, var


@pytest.mark.parametrize("command", ["build", "scorecard"])
def test_settings_flags_state_their_defaults(command, capsys) -> None:
    text = _help(command, capsys=capsys)
    assert "landing folder (METRICS_LANDING_DIR, default data/landing)" in text
    assert "(METRICS_WAREHOUSE_PATH, default data/warehouse.duckdb)" in text
    assert "(METRICS_SERVING_PATH, default data/serving.duckdb)" in text
    assert "(METRICS_AS_OF_DATE, default latest day with subscription activity)" in text


def test_other_subcommands_state_their_defaults(capsys) -> None:
    assert "--port PORT port (default 3000)" in _help("ui", capsys=capsys)
    docs = _help("docs", capsys=capsys)
    assert "port for --serve (default 8080)" in docs
    assert "(METRICS_SERVING_PATH, default data/serving.duckdb)" in docs
    generate = _help("generate", capsys=capsys)
    assert "number of customers (default 1000)" in generate
    assert "landing folder to write (METRICS_LANDING_DIR, default data/landing)" in generate
    assert "(METRICS_SERVING_PATH, default data/serving.duckdb)" in _help("report", capsys=capsys)
