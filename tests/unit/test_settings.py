import os
from pathlib import Path

import pytest

from dagster_project.errors import MetricsError
from dagster_project.settings import load_settings, metric_vars


def test_defaults_resolve_under_the_base_dir(tmp_path: Path) -> None:
    s = load_settings(env={}, base_dir=tmp_path)
    assert s.landing_dir == tmp_path / "data" / "landing"
    assert s.warehouse_path == tmp_path / "data" / "warehouse.duckdb"
    assert s.serving_path == tmp_path / "data" / "serving.duckdb"
    assert s.parquet_dir == tmp_path / "data" / "serving" / "parquet"
    assert s.reporting_timezone == "UTC" and s.reporting_currency == "USD"
    assert s.as_of_date is None and s.quarantine_max_share == 0.01


def test_environment_then_flags_win(tmp_path: Path) -> None:
    env = {"METRICS_LANDING_DIR": "/x/landing", "METRICS_QUARANTINE_MAX_SHARE": "0.05",
           "METRICS_AS_OF_DATE": "2025-03-31", "METRICS_REPORTING_TIMEZONE": "Europe/Berlin"}
    s = load_settings(env=env, base_dir=tmp_path, landing_dir="/y/landing")
    assert s.landing_dir == Path("/y/landing")
    assert s.quarantine_max_share == 0.05
    assert s.dbt_vars_dict() == {"reporting_timezone": "Europe/Berlin",
                                 "reporting_currency": "USD", "as_of_date": "2025-03-31"}


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("METRICS_QUARANTINE_MAX_SHARE", "2", "METRICS_QUARANTINE_MAX_SHARE"),
        ("METRICS_AS_OF_DATE", "31/03/2025", "METRICS_AS_OF_DATE"),
        ("METRICS_DUCKDB_THREADS", "two", "METRICS_DUCKDB_THREADS"),
        ("METRICS_DBT_VARS", "[1, 2]", "YAML mapping"),
    ],
)
def test_invalid_settings_name_the_variable(var: str, value: str, fragment: str) -> None:
    with pytest.raises(MetricsError, match=fragment):
        load_settings(env={var: value})


def test_metric_vars_merge_project_defaults_with_overrides() -> None:
    s = load_settings(env={"METRICS_DBT_VARS": "{gross_margin: 0.75, passive_events: [page_view]}"})
    merged = metric_vars(s)
    assert merged["gross_margin"] == 0.75
    assert merged["passive_events"] == ["page_view"]
    assert merged["smoothing_alpha"] == 0.5  # dbt_project.yml default


def test_the_engine_picks_the_dbt_target_and_the_raw_export_var(tmp_path: Path) -> None:
    duck = load_settings(env={}, base_dir=tmp_path)
    assert duck.engine == "duckdb" and duck.dbt_target == "duckdb"
    assert "spark_raw_location" not in duck.dbt_vars_dict()
    spark = load_settings(env={"METRICS_ENGINE": "spark"}, base_dir=tmp_path)
    assert spark.dbt_target == "spark" and spark.spark_dir == tmp_path / "data" / "spark"
    assert spark.dbt_vars_dict()["spark_raw_location"] == str(tmp_path / "data" / "spark" / "raw")
    assert spark.spark_warehouse_dir == tmp_path / "data" / "spark" / "warehouse"
    thrift = load_settings(env={"METRICS_ENGINE": "spark", "METRICS_SPARK_METHOD": "thrift",
                                "METRICS_SPARK_PORT": "10001"}, base_dir=tmp_path)
    assert thrift.dbt_target == "spark_thrift" and thrift.spark_port == 10001
    # the command line's --engine wins over the environment
    assert load_settings(env={"METRICS_ENGINE": "spark"}, engine="duckdb").dbt_target == "duckdb"


@pytest.mark.parametrize(("var", "value"), [("METRICS_ENGINE", "postgres"),
                                            ("METRICS_SPARK_METHOD", "odbc")])
def test_unknown_engine_or_method_names_the_choices(var: str, value: str) -> None:
    with pytest.raises(MetricsError, match=f"{var}.*must be one of"):
        load_settings(env={var: value})


def test_the_as_of_date_reaches_dbt_in_the_environment_not_in_vars(tmp_path, monkeypatch) -> None:
    """A --vars value that changes from run to run makes dbt re-parse the whole project;
    the as-of date travels as DBT_AS_OF_DATE (macro run_param), and is cleared when unset."""
    from dagster_project.defs.transform.project import apply_dbt_env

    dated = load_settings(env={"METRICS_AS_OF_DATE": "2025-03-31"}, base_dir=tmp_path)
    assert dated.dbt_cli_vars() == {"reporting_timezone": "UTC", "reporting_currency": "USD"}
    assert dated.dbt_env() == {"DBT_AS_OF_DATE": "2025-03-31"}
    monkeypatch.setenv("DBT_AS_OF_DATE", "stale")
    apply_dbt_env(dated)
    assert os.environ["DBT_AS_OF_DATE"] == "2025-03-31"
    apply_dbt_env(load_settings(env={}, base_dir=tmp_path))
    assert os.environ["DBT_AS_OF_DATE"] == ""
    # METRICS_DBT_VARS may name it too; it still goes by the environment.
    via_vars = load_settings(env={"METRICS_DBT_VARS": "{as_of_date: 2025-01-31}"}, base_dir=tmp_path)
    assert via_vars.dbt_env() == {"DBT_AS_OF_DATE": "2025-01-31"}
    assert "as_of_date" not in via_vars.dbt_cli_vars()


def test_dbt_logs_to_its_file_at_info_unless_told_otherwise(tmp_path, monkeypatch) -> None:
    """dbt's debug file log (every SQL statement and macro call) cost ~0.8 s of a small
    build's dbt step; the pipeline asks for info, and a DBT_LOG_LEVEL_FILE already set wins."""
    from dagster_project.defs.transform.project import apply_dbt_env

    settings = load_settings(env={}, base_dir=tmp_path)
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    apply_dbt_env(settings)
    assert os.environ["DBT_LOG_LEVEL_FILE"] == "info"
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    apply_dbt_env(settings)
    assert os.environ["DBT_LOG_LEVEL_FILE"] == "debug"
