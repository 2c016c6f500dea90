"""The dbt server's warm-up (dagster_project/dbt_cli.py, warm_caches): it fills, from the
build's partial parse, the caches a dbt command fills on first use (configuration schemas,
mashumaro's generated code, the compiled templates of the macros the last command used, the
compiled Jinja of every node's SQL and hooks),
and nothing but those; it gives way as soon as a command waits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_project import compat, dbt_cli
from tests.dbt_harness import _parsed_manifest

USED = ("macro.product_metrics.model_rules_query", "macro.product_metrics.slice_days_predicate",
        "macro.dbt.statement")


@pytest.fixture()
def partial_parse(tmp_path: Path) -> Path:
    from dbt.parser.manifest import extended_mashumaro_encoder

    path = tmp_path / "partial_parse.msgpack"
    path.write_bytes(_parsed_manifest().to_msgpack(extended_mashumaro_encoder))
    return path


@pytest.fixture()
def template_cache(partial_parse: Path):
    # After the project's parse (partial_parse), which compiles macros of its own.
    from dbt_common.clients.jinja import template_cache

    saved = dict(template_cache.file_cache)
    template_cache.file_cache.clear()
    yield template_cache
    template_cache.file_cache.clear()
    template_cache.file_cache.update(saved)


def test_the_macros_the_last_command_compiled_are_compiled_again(template_cache, partial_parse):
    macros = _parsed_manifest().macros
    for uid in USED:  # what a command compiled, as it left the cache
        template_cache.get_node_template(macros[uid])
    dbt_cli.record_used_macros(partial_parse.parent)
    recorded = json.loads((partial_parse.parent / dbt_cli.USED_MACROS).read_text())
    assert len(recorded) == 3 and all(len(key) == 16 for key in recorded)

    template_cache.file_cache.clear()  # a new server
    compat._TEMPLATE_CODE.clear()
    assert dbt_cli.warm_caches(partial_parse, pending=lambda: False) == [
        "schemas", "manifest", "macros", "nodes"]
    assert set(template_cache.file_cache) == {macros[uid].macro_sql for uid in USED}
    # Each node's SQL and hooks compiled as the command's get_template compiles them.
    manifest = _parsed_manifest()
    compiled = {key[3] for key in compat._TEMPLATE_CODE if key[1:3] == (False, False)}
    model = manifest.nodes["model.product_metrics.saas_metrics_monthly"]
    assert model.raw_code in compiled
    assert "{{ assert_model_rules() }}" in compiled  # the post-hook of the ruled models


def test_it_gives_way_to_a_waiting_command_and_skips_what_it_cannot_read(template_cache,
                                                                           partial_parse):
    macros = _parsed_manifest().macros
    (partial_parse.parent / dbt_cli.USED_MACROS).write_text(json.dumps(
        [dbt_cli._source_key(macros[uid].macro_sql) for uid in USED]))
    assert dbt_cli.warm_caches(partial_parse, pending=lambda: True) == ["schemas"]
    assert dbt_cli.warm_caches(None, pending=lambda: False) == ["schemas"]
    assert dbt_cli.warm_caches(partial_parse.parent / "none", pending=lambda: False) == ["schemas"]
    garbage = partial_parse.parent / "garbage.msgpack"
    garbage.write_bytes(b"\x00not a manifest")
    assert dbt_cli.warm_caches(garbage, pending=lambda: False) == ["schemas"]
    assert template_cache.file_cache == {}
    # No record of used macros (a first build): the rest is warmed, no macro compiled.
    (partial_parse.parent / dbt_cli.USED_MACROS).unlink()
    assert dbt_cli.warm_caches(partial_parse, pending=lambda: False) == [
        "schemas", "manifest", "nodes"]
    assert template_cache.file_cache == {}
