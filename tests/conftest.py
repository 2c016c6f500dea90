"""Test-session set-up shared by every folder.

`make test` runs the suite on two processes (pytest-xdist, ``-n 2``): the
end-to-end tests stay together on one worker (they share one demo build, the session
fixture ``built``), the dbt fixture tests on another (they share one parse of the dbt
project), and the unit tests go wherever there is room."""

from __future__ import annotations

import pytest

_GROUPS = {"e2e": "e2e", "dbt": "dbt"}
# End-to-end modules that build their own small landing (not the shared demo build): a
# scope of their own, so the other worker can take them.
_STANDALONE = {"tests/e2e/test_currency.py"}


def pytest_configure(config: pytest.Config) -> None:
    # Parse the dbt project once, before any worker starts: workers that load the Dagster
    # definitions at the same moment would otherwise both write dbt_models/target.
    if hasattr(config, "workerinput"):
        return
    from dagster_project.defs.transform.project import ensure_manifest

    ensure_manifest()


def _scope(nodeid: str) -> str:
    """The unit of work a worker takes whole: tests/e2e and tests/dbt each as one, every
    other test module on its own."""
    parts = nodeid.split("/")
    if nodeid.split("::", 1)[0] in _STANDALONE:
        return nodeid.split("::", 1)[0]
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in _GROUPS:
        return _GROUPS[parts[1]]
    return nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist's ``loadgroup`` marks do not take with pytest 9 (xdist 3.8 renames the node
    id through an attribute pytest 9 no longer reads), so schedule by folder ourselves."""
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return FolderScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _temporary_folders_under_pytest_s(tmp_path_factory: pytest.TempPathFactory):
    """Temporary folders made with ``tempfile`` during the tests (the dbt harness's parse
    target, the kept files of an in-memory warehouse) go under pytest's own folder, which
    pytest prunes, rather than pile up in the system's: an xdist worker's process ends
    without running the ``atexit`` handlers that would remove them."""
    import tempfile

    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = before
