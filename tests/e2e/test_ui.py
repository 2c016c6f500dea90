"""The Dagster UI as an analyst meets it: the webserver serves the whole lineage."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dagster_project.defs.transform.project import MANIFEST_PATH
from dagster_project.settings import PROJECT_ROOT

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


LOCATION = """{ workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _processes_with(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def ui(built, tmp_path_factory: pytest.TempPathFactory):
    """`product-metrics ui` as a user starts it from any shell: the virtualenv is not on PATH
    (issue: dagster-dbt then looked for `dbt` there and no code location loaded). Yields
    (port, process); the last test of the module stops it with SIGTERM."""
    settings, _ = built
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(home),
           "METRICS_LANDING_DIR": str(settings.landing_dir),
           "METRICS_WAREHOUSE_PATH": str(settings.warehouse_path),
           "METRICS_SERVING_PATH": str(settings.serving_path)}
    cli = Path(sys.executable).parent / "product-metrics"
    proc = subprocess.Popen([str(cli), "ui", "--port", str(port)], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 150
        while True:
            try:
                entries = _graphql(port, LOCATION)["data"]["workspaceOrError"]["locationEntries"]
                loaded = [e["locationOrLoadError"] for e in entries]
                if loaded and all(x is not None for x in loaded):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the UI did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(1)
        assert [x["__typename"] for x in loaded] == ["RepositoryLocation"], loaded
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_with(f" {port}"):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def webserver(ui) -> int:
    return ui[0]


def _asset_key(node: dict) -> tuple[str, ...]:
    if node["resource_type"] == "source":
        return (node["source_name"], node["name"])
    return (node["schema"], node["name"])


def test_every_dbt_model_and_test_is_in_the_ui_with_its_edges(webserver: int) -> None:
    data = _graphql(webserver, QUERY)
    assert "errors" not in data, data.get("errors")
    nodes = {tuple(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
    manifest = json.loads(MANIFEST_PATH.read_text())
    by_id = {**manifest["nodes"], **manifest["sources"]}
    models = [n for n in manifest["nodes"].values() if n["resource_type"] in {"model", "seed"}]
    assert len(models) > 20
    for model in models:
        key = _asset_key(model)
        assert key in nodes, f"{key} missing from the UI"
        ui_parents = {tuple(d["path"]) for d in nodes[key]["dependencyKeys"]}
        parents = {_asset_key(by_id[p]) for p in model["depends_on"].get("nodes", []) if p in by_id}
        assert parents <= ui_parents, f"{key}: UI lacks edges {parents - ui_parents}"
        assert nodes[key]["groupName"] in {"staging", "intermediate", "marts"}
    tests = [n for n in manifest["nodes"].values()
             if n["resource_type"] == "test" and n.get("attached_node")]
    assert tests
    for test in tests:
        key = _asset_key(by_id[test["attached_node"]])
        checks = {c["name"] for c in nodes[key]["assetChecksOrError"].get("checks", [])}
        assert test["name"] in checks, f"check {test['name']} missing on {key}"


def test_the_graph_reads_as_the_data_flows(webserver: int) -> None:
    data = _graphql(webserver, QUERY)
    nodes = {tuple(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
    groups = {n["groupName"] for n in nodes.values()}
    assert {"ingestion", "staging", "intermediate", "marts", "publish"} <= groups
    publish = nodes[("serving", "published_marts")]
    parents = {tuple(d["path"]) for d in publish["dependencyKeys"]}
    assert ("marts", "saas_metrics_monthly") in parents
    ingest = nodes[("raw", "subscription_events")]
    checks = {c["name"]: c["blocking"] for c in ingest["assetChecksOrError"]["checks"]}
    assert checks.get("quarantine_share_under_threshold") is True
    staging = nodes[("staging", "stg_billing__subscription_events")]
    assert ("raw", "subscription_events") in {tuple(d["path"]) for d in staging["dependencyKeys"]}


def test_a_screenshot_of_the_lineage_page(webserver: int, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    out = PROJECT_ROOT / "data" / "screenshots" / "lineage.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1600,1000", "--virtual-time-budget=15000",
         f"--screenshot={out}", f"http://127.0.0.1:{webserver}/asset-groups/marts/lineage"],
        check=True, timeout=120, capture_output=True,
    )
    assert out.exists() and out.stat().st_size > 20_000  # a rendered page, not a blank one



def test_zz_product_metrics_ui_stops_on_sigterm(ui) -> None:
    """Last in the module: a SIGTERM to `product-metrics ui` stops the webserver, the daemon
    and the code server it started, within seconds (issue: they kept running)."""
    port, proc = ui
    started = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    while _processes_with(f" {port}") and time.time() - started < 30:
        time.sleep(0.5)
    assert not _processes_with(f" {port}"), "dagster dev outlived product-metrics ui"
    assert time.time() - started < 10
