"""Every dbt test's Dagster check has a description saying what it checks, and the column
schema of a built table carries its types (from the warehouse) and its dbt descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.defs.transform.dbt_checks import describe_dbt_test


def _generic(name: str, severity: str = "error", **kwargs: object) -> dict:
    return {"name": f"{name}_x", "config": {"severity": severity},
            "test_metadata": {"name": name, "kwargs": {"model": "{{ get_where_subquery(ref('m')) }}",
                                                        **kwargs}}}


def test_generic_tests_say_what_they_check_from_their_arguments() -> None:
    assert describe_dbt_test(_generic("unique", column_name="month")) == (
        "month is unique: no two rows share a value.")
    assert describe_dbt_test(_generic("accepted_values", column_name="grain",
                                      values=["month", "quarter"])) == (
        "grain is one of: month, quarter.")
    assert describe_dbt_test(_generic("ends_by_the_as_of_period", column_name="date",
                                      datepart="day", reaches=True)) == (
        "The day series date ends exactly at the as-of day.")
    assert describe_dbt_test(_generic("relationships", column_name="kpi",
                                      to="ref('int_kpi_registry')", field="kpi")) == (
        "Every kpi is a kpi of int_kpi_registry.")


def test_a_model_rules_test_lists_each_rule_in_a_sentence() -> None:
    rules = [
        {"unique": ["month"]},
        {"unique": ["month", "segment"]},
        {"not_null": ["month", "mrr"]},
        {"between": [{"column": "rate", "min_value": 0, "max_value": 1},
                     {"column": "pct", "min_value": -100}, {"column": "churn", "max_value": 1}]},
        {"accepted_values": {"column": "grain", "values": ["month", "quarter"]}},
        {"positive": "customers"},
        {"name": "nested", "expression": "mau >= wau\n  and wau >= dau"},
        {"expression": "a = b", "null_fails": True},
        {"continuous": {"column": "month", "datepart": "month", "partition_by": ["segment"]}},
        {"shares_sum_to_one": {"column": "share", "group_by": ["month"]}},
    ]
    assert describe_dbt_test(_generic("model_rules", rules=rules)) == (
        "10 rules of this table, one query: "
        "(1) month is unique: no two rows share a value. "
        "(2) One row per (month, segment). "
        "(3) No NULL in any of: month, mrr. "
        "(4) Inclusive bounds, NULL passes: 0 <= rate <= 1; pct >= -100; churn <= 1. "
        "(5) grain is one of: month, quarter. "
        "(6) customers > 0 on every row. "
        "(7) nested: On every row: mau >= wau and wau >= dau. "
        "(8) On every row (NULL fails): a = b. "
        "(9) No gap in the month series month (per segment): each month follows the last. "
        "(10) share sums to 1 per (month).")
    assert describe_dbt_test(_generic("model_rules", severity="warn", rules=[
        {"between": [{"column": "logo_churn_rate", "max_value": 1}]}])) == (
        "1 rule of this table, one query: (1) Inclusive bounds, NULL passes: "
        "logo_churn_rate <= 1. (Warns only: not blocking.)")


def test_singular_tests_say_what_their_leading_comment_says() -> None:
    node = {"name": "assert_x", "config": {}, "raw_code": (
        "-- saas_metrics_monthly: each month starts where\n-- the previous one ended.\n\n"
        "{{ config(meta={}) }}\n-- not this\nselect 1")}
    assert describe_dbt_test(node) == (
        "saas_metrics_monthly: each month starts where the previous one ended.")
    # A description written in the test's meta wins.
    assert describe_dbt_test({**node, "meta": {"description": "Own words."}}) == "Own words."


def test_every_check_of_the_project_has_a_description() -> None:
    from dagster_project.defs.transform.assets import TRANSLATOR
    from dagster_project.defs.transform.project import dbt_project, ensure_manifest

    project = dbt_project()
    manifest = json.loads(ensure_manifest().read_text())
    tests = [uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "test"]
    described = 0
    for uid in tests:
        node = manifest["nodes"][uid]
        parent = node.get("attached_node") or (node["depends_on"]["nodes"] or [None])[0]
        if parent is None or parent not in manifest["nodes"]:
            continue
        spec = TRANSLATOR.get_asset_spec(manifest, parent, project)
        check = TRANSLATOR.get_asset_check_spec(spec, manifest, uid, project)
        if check is None:
            continue
        assert check.description and not check.description.startswith("dbt test "), uid
        described += 1
    assert described > 80


def test_column_schemas_carry_warehouse_types_and_dbt_descriptions(tmp_path: Path) -> None:
    from dagster_project.defs.transform.assets import column_schema, table_facts
    from dagster_project.resources import WarehouseResource

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.m as select date '2024-01-01' as month, "
                "cast(12.5 as decimal(18, 2)) as mrr, 3 as customers union all "
                "select date '2024-02-01', 0, 0")
    con.close()
    warehouse = WarehouseResource(database=str(path), connection_config={"temp_directory": str(tmp_path / "tmp")})
    key, missing = dg.AssetKey(["marts", "m"]), dg.AssetKey(["marts", "not_built"])
    counts, columns = table_facts(warehouse, [key, missing])
    assert counts == {key: 2}
    assert columns == {key: [("month", "DATE"), ("mrr", "DECIMAL(18,2)"), ("customers", "INTEGER")]}
    defined = dg.TableSchema(columns=[
        dg.TableColumn("mrr", "?", description="Monthly recurring revenue."),
        dg.TableColumn("month", "?", description="First day of the month.")])
    schema = column_schema(columns[key], defined)
    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("month", "DATE", "First day of the month."),
        ("mrr", "DECIMAL(18,2)", "Monthly recurring revenue."),
        ("customers", "INTEGER", None)]
