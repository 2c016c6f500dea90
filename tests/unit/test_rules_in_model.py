"""The rules tests run in their models' pass (transform/rules_in_model.py): when a run may
use it, how their outcomes read as dbt run results, Dagster checks and the failure summary."""

from __future__ import annotations

import dagster as dg
import duckdb

from dagster_project.defs.transform.assets import RulesInModel, _failure_summary, _not_run_note
from dagster_project.transform import rules_in_model as rim

A, B = dg.AssetKey(["staging", "a"]), dg.AssetKey(["marts", "b"])
CHECK_A = dg.AssetCheckKey(A, "rules_a")
CHECK_B = dg.AssetCheckKey(B, "rules_b")
CHECK_B_WARN = dg.AssetCheckKey(B, "rules_b_warn")
RULE_CHECKS = {CHECK_A: A, CHECK_B: B, CHECK_B_WARN: B}
OTHER = dg.AssetCheckKey(B, "unique_b_month")  # not a rules test


def test_only_a_run_that_checks_exactly_the_rules_of_what_it_builds_runs_them_in_the_models():
    assert rim.runs_in_model(RULE_CHECKS, [CHECK_A, CHECK_B, CHECK_B_WARN, OTHER], [A, B])
    assert rim.runs_in_model(RULE_CHECKS, [CHECK_A], [A])  # a subset, with its checks
    assert rim.runs_in_model(RULE_CHECKS, [], [])
    # b is built without one of its rules checks: that check must not block b.
    assert not rim.runs_in_model(RULE_CHECKS, [CHECK_A, CHECK_B], [A, B])
    # a's check without a: it runs as a test on the table there is.
    assert not rim.runs_in_model(RULE_CHECKS, [CHECK_A, CHECK_B, CHECK_B_WARN], [B])


def _outcomes() -> list[rim.Outcome]:
    con = duckdb.connect()
    assert rim.read(con) == []  # no table yet: nothing recorded
    rim.prepare(con)
    con.execute(f"""insert into {rim.TABLE} values
        ('test.p.rules_b.2', 'rules_b', 'model.p.b', 'error', 'fail', 3,
         'not_null(x) (2), unique(month) (1)'),
        ('test.p.rules_a.1', 'rules_a', 'model.p.a', 'error', 'pass', 0, ''),
        ('test.p.rules_b_warn.3', 'rules_b_warn', 'model.p.b', 'warn', 'warn', 1,
         'between(rate) (1)')""")
    found = rim.read(con)
    rim.prepare(con)  # the next run starts from an empty table
    assert rim.read(con) == []
    return found


def test_outcomes_read_back_as_run_results_and_a_test_that_recorded_none_was_skipped():
    outcomes = _outcomes()
    assert [o.test_name for o in outcomes] == ["rules_a", "rules_b", "rules_b_warn"]
    assert rim.failed_by_rules(outcomes) == {"model.p.b"}  # a warning blocks nothing
    results = rim.as_run_results(outcomes, ["test.p.rules_a.1", "test.p.rules_c.4"])
    assert [(r["unique_id"], r["status"]) for r in results] == [
        ("test.p.rules_a.1", "pass"), ("test.p.rules_b.2", "fail"),
        ("test.p.rules_b_warn.3", "warn"), ("test.p.rules_c.4", "skipped")]
    assert results[1]["message"] == "3 failing [failing rules: not_null(x) (2), unique(month) (1)]"
    assert _not_run_note(results) == "; 1 dbt test(s) could not run and were not evaluated (rules_c)"


def test_outcomes_become_the_tests_checks_and_the_failed_models_materialisation():
    outcomes = _outcomes()
    run = RulesInModel({"test.p.rules_a.1": CHECK_A, "test.p.rules_b.2": CHECK_B,
                        "test.p.rules_b_warn.3": CHECK_B_WARN},
                       {"model.p.a": A, "model.p.b": B})
    events = run.events(outcomes, yielded={"staging__a"})
    # b's node failed on its rules after its table was built: dbt yields no output for it.
    assert isinstance(events[0], dg.Output) and events[0].output_name == "marts__b"
    checks = {e.check_name: e for e in events[1:]}
    assert checks.keys() == {"rules_a", "rules_b", "rules_b_warn"}
    assert checks["rules_a"].passed and checks["rules_a"].description is None
    assert not checks["rules_b"].passed
    assert checks["rules_b"].severity == dg.AssetCheckSeverity.ERROR
    assert checks["rules_b"].description == "failing rules: not_null(x) (2), unique(month) (1)"
    assert checks["rules_b"].metadata["dagster_dbt/failed_row_count"].value == 3
    assert not checks["rules_b_warn"].passed
    assert checks["rules_b_warn"].severity == dg.AssetCheckSeverity.WARN
    # A test left out of the run's checks is not reported.
    only_a = RulesInModel({"test.p.rules_a.1": CHECK_A}, {"model.p.a": A, "model.p.b": B})
    assert [e.check_name for e in only_a.events(outcomes, {"marts__b"})] == ["rules_a"]


class _Invocation:
    def __init__(self, results: list[dict]) -> None:
        self.results = results

    def get_artifact(self, name: str) -> dict:
        return {"results": self.results}


def test_the_summary_names_the_failed_test_not_the_node_it_failed():
    invocation = _Invocation([
        {"unique_id": "model.p.b", "status": "error",
         "message": "Compilation Error in model b: model rules failed: rules_b: 3 failing"},
        {"unique_id": "model.p.c", "status": "error", "message": "Runtime Error: no such table"},
        {"unique_id": "model.p.a", "status": "success", "message": "OK"},
    ])
    assert _failure_summary(invocation, {}, _outcomes()) == (
        "c: Runtime Error: no such table; "
        "rules_b: 3 failing [failing rules: not_null(x) (2), unique(month) (1)]")


def test_a_rules_test_the_post_hook_would_not_run_alike_keeps_every_run_on_test_nodes():
    def node(name: str, **config: object) -> dict:
        return {"resource_type": "test", "name": name, "attached_node": "model.p.a",
                "test_metadata": {"name": "model_rules"},
                "config": {"severity": "warn", "where": None, "error_if": "!= 0", **config}}

    on_seed = {**node("rules_d"), "attached_node": "seed.p.plans"}
    manifest = {"nodes": {"test.p.rules_a.1": node("rules_a"),
                          "test.p.rules_b.2": node("rules_b", error_if="> 10"),
                          "test.p.rules_c.3": node("rules_c", where="day > 1"),
                          "test.p.rules_d.4": on_seed}}
    assert rim.unsupported(manifest) == ["rules_b", "rules_c", "rules_d"]
    for uid in ("test.p.rules_b.2", "test.p.rules_c.3", "test.p.rules_d.4"):
        del manifest["nodes"][uid]
    assert rim.unsupported(manifest) == []


def test_the_projects_rules_tests_all_run_in_their_models():
    import json

    from dagster_project.transform.manifest import ensure_manifest

    manifest = json.loads(ensure_manifest().read_text())
    assert len(rim.rules_tests(manifest)) >= 60
    assert rim.unsupported(manifest) == []
