"""Nothing new landed: a build whose inputs are exactly those of the last published build
does nothing, says so, and leaves the served data untouched.

A build's output is a function of its inputs: the landing files, the settings and the code
(Python, dbt models and macros, seeds, expectation suites). The marts read no clock (the
as-of date is a setting or comes from the data), so the same inputs give the same marts,
and every check already passed on them. After a build publishes, its inputs' signature is
written beside the warehouse (``<warehouse>.last-build.json``) with the state of the two
database files it left; the next build compares before it loads anything heavy:

* every file under the landing folder, by path, size and modification time (a file that
  was touched is taken as new: the build then runs, and ingestion skips it by content);
* every setting (`Settings`), and the hash of every file of the code;
* the working warehouse and the serving database, by size and modification time (a hand
  fix, a run of the Dagster daemon or a restored backup makes the next build run).

Anything else (a failed or interrupted build, a ``--full-refresh``, a backfill) forgets the
signature, and the next build runs in full as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dagster_project.settings import (
    DBT_PROJECT_DIR,
    EXPECTATIONS_DIR,
    PROJECT_ROOT,
    SEEDS_DIR,
    Settings,
)

VERSION = 1
# dbt's own output folders hold no input (and change on every run).
_SKIPPED_DIRS = {"target", "logs", "dbt_packages", "__pycache__"}
_CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".json", ".properties"}


def state_path(settings: Settings) -> Path:
    return settings.warehouse_path.with_name(settings.warehouse_path.name + ".last-build.json")


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        found += [Path(folder) / f for f in sorted(files)]
    return found


def landing_signature(landing_dir: Path) -> str:
    """Every file under the landing folder, by relative path, size and mtime."""
    digest = hashlib.sha256()
    for path in _walk(landing_dir):
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(landing_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n"
                      .encode())
    return digest.hexdigest()


def code_signature() -> str:
    """The content of every file the build runs or reads as code: the Python package, the
    dbt project, the seeds and the expectation suites."""
    digest = hashlib.sha256()
    roots = (PROJECT_ROOT / "dagster_project", DBT_PROJECT_DIR, SEEDS_DIR, EXPECTATIONS_DIR)
    for root in roots:
        for path in _walk(root):
            if path.suffix in _CODE_SUFFIXES:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def settings_signature(settings: Settings) -> str:
    values = {k: str(v) for k, v in dataclasses.asdict(settings).items()}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _file_state(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def signature(settings: Settings) -> dict[str, Any]:
    return {
        "version": VERSION,
        "landing": landing_signature(settings.landing_dir),
        "settings": settings_signature(settings),
        "code": code_signature(),
    }


def changes(settings: Settings) -> list[str]:
    """What differs from the last published build (empty when nothing does)."""
    try:
        last = json.loads(state_path(settings).read_text())
    except (OSError, ValueError):
        return ["no published build recorded for this warehouse"]
    now = signature(settings)
    inputs = last.get("inputs") or {}
    names = {"version": "the record's format", "landing": "the landing files",
             "settings": "the settings", "code": "the code (Python, dbt, seeds, suites)"}
    found = [f"{names[k]} changed" for k in now if inputs.get(k) != now[k]]
    for key, name, path in (("warehouse", "working warehouse", settings.warehouse_path),
                            ("serving", "serving database", settings.serving_path)):
        state = _file_state(path)
        if state is None or last.get(key) != state:
            found.append(f"the {name} changed since" if state else f"the {name} is missing")
    return found


def unchanged(settings: Settings) -> dict[str, Any] | None:
    """The last published build's record when nothing has changed since it, else None."""
    if changes(settings):
        return None
    return json.loads(state_path(settings).read_text())


def forget(settings: Settings) -> None:
    """The next build must run (this one is about to change the warehouse)."""
    state_path(settings).unlink(missing_ok=True)


def record(settings: Settings, run_id: str, inputs: dict[str, Any]) -> None:
    """After a build published: what it was built from and the files it left. ``inputs``
    is the signature taken before the build, so a file landing during it is new next time."""
    state = {
        "inputs": inputs,
        "run_id": run_id,
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "warehouse": _file_state(settings.warehouse_path),
        "serving": _file_state(settings.serving_path),
    }
    tmp = state_path(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, state_path(settings))
