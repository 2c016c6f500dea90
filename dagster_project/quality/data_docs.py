"""Great Expectations Data Docs of the quality checks, in ``<serving>/quality/``.

Every suite a check validates is stored in the process's GX context under a run name
saying what was validated (``raw_invoices batch 12``, ``marts_nps_monthly``) and a batch
label for the frame (``rows 1 of 3``, ``references customer_id``). Their pages are then
rendered (GX's ``build_data_docs`` for those results only: by the check itself, or in a
build by its GX worker once it has nothing else to do, the check naming the pages to come)
and ``index.html`` is rewritten, a plain list of the newest validations with PASS/FAIL and
a link to each page, that opens offline (GX's own index, not built, draws its list with
scripts from public CDNs and is empty offline). A page shows each expectation with its observed value and
examples of unexpected values; suites never read personal columns, so none appear.

GX's pages take their styles and icons from public CDNs too: offline, the pass/fail
column is empty (the icons are a web font) and the tables have no lines. Each page gets
``OFFLINE_STYLE`` inlined before those links: a few rules that draw the layout, tables and
a "pass" / "FAIL" word in place of each icon. Online, the CDN styles load after it and win.

The newest ``KEEP_RUNS`` validations of each suite are kept; older pages are deleted.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SITE = "product_metrics_quality"
KEEP_RUNS = 10
INDEX = "index.html"
RECORDS = "records"  # one JSON file per validation page: suite, run, status, page


def _safe(text: str) -> str:
    """A label usable as a folder name in the site (GX puts labels in paths)."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "frame"


@dataclass
class Pending:
    key: Any
    suite: str
    run: str
    label: str
    success: bool
    failed: list[str]
    time: str
    rendered: bool = False  # its page is written
    reported: bool = False  # its page's path was handed out (take_pages)
    released: bool = False  # it may be rendered at leisure (release)

    @property
    def page(self) -> str:
        return _page_path(self.key)


@dataclass
class DataDocs:
    """The Data Docs site of one folder; ``record`` results, then ``publish`` them (or
    ``take_pages`` now and ``render`` later)."""

    folder: Path
    # recorded validations whose page is not written or whose path was not handed out yet
    pending: list[Pending] = field(default_factory=list)
    # validations recorded for this folder by the build's GX worker (gx_worker), rendered
    # there by gx_runner.publish_docs
    recorded_elsewhere: int = 0

    @property
    def has_pending(self) -> bool:
        return bool(self.pending) or self.recorded_elsewhere > 0

    @property
    def waiting(self) -> bool:
        """Released validations whose page is not written yet."""
        return any(p.released and not p.rendered for p in self.pending)

    def record(self, context: Any, suite: str, run: str, label: str, result: Any) -> None:
        """Store one GX validation result under (suite, run, label)."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        now = dt.datetime.now(dt.UTC)
        run_id = RunIdentifier(run_name=_safe(run), run_time=now)
        result.meta["run_id"] = run_id
        result.meta["batch_spec"] = {**(result.meta.get("batch_spec") or {}),
                                     "data_asset_name": f"{run}: {label}"}
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
            run_id=run_id, batch_identifier=_safe(label))
        context.validation_results_store.set(key, result)
        failed = [r.expectation_config.type for r in result.results if not r.success]
        self.pending.append(Pending(key, suite, run, label, bool(result.success), failed,
                                    now.isoformat(timespec="seconds")))

    def publish(self, context: Any) -> list[str]:
        """Render the pending validations' pages and the offline index; the pages'
        paths relative to the folder, in the order recorded."""
        self.render(context)
        return self.take_pages()

    def take_pages(self) -> list[str]:
        """The paths (relative to the folder) of the pages of the validations recorded
        since the last call, in the order recorded, written or not yet (``render``)."""
        pages = [p.page for p in self.pending if not p.reported]
        for p in self.pending:
            p.reported = True
        self._drop_done()
        return pages

    def release(self) -> None:
        """Let the validations recorded so far be rendered at leisure (``render(...,
        released_only=True)``, which a worker runs when it has nothing else to do)."""
        for p in self.pending:
            p.released = True

    def render(self, context: Any, released_only: bool = False) -> bool:
        """Write the pages of the validations recorded (and released) that have none yet,
        then the offline index; False when there were none."""
        todo = [p for p in self.pending if not p.rendered and (p.released or not released_only)]
        if not todo:
            return False
        ensure_site(context, self.folder)
        context.build_data_docs(site_names=[SITE], resource_identifiers=[p.key for p in todo],
                                build_index=False)
        records = self.folder / RECORDS
        records.mkdir(parents=True, exist_ok=True)
        for p in todo:
            (records / (_safe(f"{p.time}_{p.suite}_{p.run}_{p.label}") + ".json")).write_text(
                json.dumps({"suite": p.suite, "run": p.run, "label": p.label,
                            "success": p.success, "failed": p.failed, "time": p.time,
                            "page": p.page}), encoding="utf-8")
            style_offline(self.folder / p.page)
            p.rendered = True
        self._drop_done()
        prune_and_index(self.folder)
        return True

    def give_up(self) -> int:
        """Stop trying to write the released validations' pages (their rendering failed);
        how many there were."""
        given = [p for p in self.pending if p.released and not p.rendered]
        for p in given:
            p.rendered = True
        self._drop_done()
        return len(given)

    def _drop_done(self) -> None:
        self.pending = [p for p in self.pending if not (p.rendered and p.reported)]


# Readable without network (see the module's docstring); selectors are GX 1.x's classes.
OFFLINE_STYLE = """<style id="offline-style">
body { font-family: system-ui, sans-serif; color: #1f2933; margin: 0 1.5rem; }
nav, .ge-navigation-sidebar-container, .sticky, footer { display: none; }
.card { border: 1px solid #d9dee3; border-radius: 4px; margin: .8rem 0; }
.card-header { background: #f3f5f7; padding: .4rem .8rem; font-weight: 600; }
.card-body { padding: .5rem .8rem; }
table { border-collapse: collapse; margin: .3rem 0; }
th, td { border-bottom: 1px solid #e3e7eb; padding: .25rem .6rem; text-align: left;
  vertical-align: top; font-size: 14px; }
.badge { background: #e3e7eb; border-radius: 3px; padding: 0 .3rem; }
.fa-check-circle::before { content: "pass"; color: #1b7f3b; font-weight: 600; }
.fa-times::before { content: "FAIL"; color: #b42318; font-weight: 700; }
.collapse { display: none; }
</style>
"""


def style_offline(page: Path) -> None:
    """Inline ``OFFLINE_STYLE`` at the top of a rendered page's head (once)."""
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return
    if 'id="offline-style"' in text or "<head>" not in text:
        return
    page.write_text(text.replace("<head>", "<head>\n" + OFFLINE_STYLE, 1), encoding="utf-8")


_sites: set[str] = set()


def ensure_site(context: Any, folder: Path) -> None:
    """Point the context's one Data Docs site at ``folder`` (absolute, as GX needs)."""
    base = str(folder.resolve())
    if base in _sites:
        return
    for name in list(context.get_site_names()):
        context.delete_data_docs_site(name)
    folder.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(site_name=SITE, site_config={
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": base},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    _sites.clear()
    _sites.add(base)


def _page_path(key: Any) -> str:
    """Where GX writes a validation's page, relative to the site folder."""
    suite = key.expectation_suite_identifier.name.replace(".", "/")
    run_time = key.run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    return f"validations/{suite}/{key.run_id.run_name}/{run_time}/{key.batch_identifier}.html"


def _records(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted((folder / RECORDS).glob("*.json")):
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return out


def prune_and_index(folder: Path) -> Path:
    """Keep the newest KEEP_RUNS validations per suite, then write the offline index."""
    by_suite: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path, rec in _records(folder):
        by_suite.setdefault(rec["suite"], []).append((path, rec))
    kept: list[dict[str, Any]] = []
    for entries in by_suite.values():
        runs = sorted({(r["time"], r["run"]) for _, r in entries}, reverse=True)[:KEEP_RUNS]
        for path, rec in entries:
            if (rec["time"], rec["run"]) in runs:
                kept.append(rec)
                continue
            path.unlink(missing_ok=True)
            page = folder / rec["page"]
            page.unlink(missing_ok=True)
            for empty in (page.parent, page.parent.parent):  # <run time>/, <run name>/
                try:
                    empty.rmdir()
                except OSError:
                    break
    index = folder / INDEX
    index.write_text(render_index(kept), encoding="utf-8")
    return index


def render_index(records: list[dict[str, Any]]) -> str:
    rows = []
    for rec in sorted(records, key=lambda r: (r["time"], r["suite"], r["label"]), reverse=True):
        status = "PASS" if rec["success"] else "FAIL"
        failed = ", ".join(rec.get("failed") or [])
        rows.append(
            f"<tr class='{status.lower()}'><td>{html.escape(rec['time'])}</td>"
            f"<td>{html.escape(rec['suite'])}</td><td>{html.escape(rec['run'])}</td>"
            f"<td><a href='{html.escape(rec['page'])}'>{html.escape(rec['label'])}</a></td>"
            f"<td>{status}</td><td>{html.escape(failed)}</td></tr>")
    body = "\n".join(rows) or "<tr><td colspan='6'>No validation yet.</td></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality: Great Expectations results</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .3rem .7rem; border-bottom: 1px solid #ddd;
text-align: left; font-size: 14px; }} tr.fail td {{ background: #fdecea; }}
</style></head><body>
<h1>Data quality: Great Expectations results</h1>
<p>The newest validations of each suite (landing suites on each new ingestion batch,
mart suites on each rebuilt mart), newest first. A failed expectation's page shows its
observed value and examples of the unexpected values. Severities (blocking or warning)
are on the Dagster asset checks and in the build summary.</p>
<table><tr><th>time (UTC)</th><th>suite</th><th>what was validated</th><th>frame (page)</th>
<th>status</th><th>failed expectations</th></tr>
{body}
</table></body></html>
"""
