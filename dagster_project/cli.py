"""`product-metrics`: the command line.

Every command prints what it did and where; a problem the user can fix is printed as one
paragraph (no traceback) with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dagster_project import __version__
from dagster_project.errors import MetricsError
from dagster_project.settings import PROJECT_ROOT, Settings, load_settings, setting_help

EPILOG = """\
{settings}

typical use:
  product-metrics generate --out data/landing          # demo data set
  product-metrics build                                 # ingest, transform, check, publish
  product-metrics build --from 2025-01-01 --to 2025-01-31   # backfill a range of days
  product-metrics build --full-refresh                  # rebuild everything from landed rows
  product-metrics scorecard                             # KPIs against targets
  product-metrics query mrr --by segment --grain quarter  # any metric, sliced (--list)
  product-metrics report --open                         # the KPI report, charts in one HTML file
  product-metrics ui                                    # lineage and runs in the Dagster UI
  product-metrics docs --open                           # dbt docs: models, columns, lineage

BI tools read the published marts from the serving database (schema `marts`),
read-only; see README.md, docs/LANDING.md (what to land), docs/METRICS.md (what
each KPI means) and docs/MARTS.md (what the marts hold).
"""


def _default(var: str) -> str:
    """", default <value>" for a setting's help, from the settings' own table."""
    found = {v: d for v, d, _ in setting_help()}.get(var)
    return f", default {found}" if found else ""


def _settings_epilog() -> str:
    import textwrap

    env = "\n".join(
        f"  {var}" + (f" (default {default})" if default else "") + "\n"
        + textwrap.fill(meaning, width=88, initial_indent="      ", subsequent_indent="      ")
        for var, default, meaning in setting_help())
    return f"settings (environment variables; command-line flags win):\n{env}"


def _add_parser(sub: Any, name: str, settings: bool = False, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its flags' defaults; with ``settings``, also every
    setting with its default and meaning (as the top-level help does)."""
    import textwrap

    if settings:
        kwargs["epilog"] = _settings_epilog()
    if kwargs.get("description"):
        kwargs["description"] = textwrap.fill(kwargs["description"], width=88)
    return sub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def _settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--landing", metavar="DIR",
                   help=f"landing folder (METRICS_LANDING_DIR{_default('METRICS_LANDING_DIR')})")
    p.add_argument("--warehouse", metavar="PATH", help="working warehouse "
                   f"(METRICS_WAREHOUSE_PATH{_default('METRICS_WAREHOUSE_PATH')})")
    p.add_argument("--serving", metavar="PATH", help="serving database "
                   f"(METRICS_SERVING_PATH{_default('METRICS_SERVING_PATH')})")
    p.add_argument("--as-of", metavar="DATE", help="report through this date, YYYY-MM-DD "
                   f"(METRICS_AS_OF_DATE{_default('METRICS_AS_OF_DATE')})")


def _load(args: argparse.Namespace) -> Settings:
    return load_settings(
        landing_dir=getattr(args, "landing", None),
        warehouse_path=getattr(args, "warehouse", None),
        serving_path=getattr(args, "serving", None),
        as_of_date=getattr(args, "as_of", None),
        engine=getattr(args, "engine", None),
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from dagster_project.generate import generate

    out = Path(args.out or _load(args).landing_dir)
    start = dt.date.fromisoformat(args.start) if args.start else dt.date(2024, 1, 1)
    summary = generate(
        out, customers=args.customers, days=args.days, start=start, seed=args.seed,
        bad_rows=args.bad_rows,
    )
    print(summary.describe())
    print(f"landing folder: {out}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from dagster_project.build import run_build

    settings = _load(args)
    backfill = None
    if args.from_day or args.to_day:
        if not (args.from_day and args.to_day):
            raise MetricsError("build: --from and --to go together (a backfill of the days "
                               "--from .. --to, both included)")
        backfill = (args.from_day, args.to_day)
    report = run_build(settings, full_refresh=args.full_refresh, backfill=backfill,
                       echo=lambda line: print(line, flush=True),
                       progress=None if args.quiet else sys.stdout)
    print(report.describe())
    if args.report_json:
        import json

        Path(args.report_json).write_text(json.dumps(report.to_dict(), indent=2))
    return 0 if report.success else 1


def cmd_scorecard(args: argparse.Namespace) -> int:
    import duckdb

    from dagster_project.reports.scorecard import render_scorecard

    settings = _load(args)
    if not settings.serving_path.exists():
        raise MetricsError(
            f"no serving database at {settings.serving_path}: run `product-metrics build` first"
        )
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        print(render_scorecard(con, period=args.period, color=sys.stdout.isatty() and not args.no_color))
    finally:
        con.close()
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from dagster_project.semantic import SemanticLayer, render
    from dagster_project.transform.manifest import SEMANTIC_MANIFEST_PATH, ensure_manifest

    settings = _load(args)
    definitions = settings.semantic_manifest_path
    if not definitions.exists():  # served by a build before the semantic layer: the project's
        ensure_manifest()
        definitions = SEMANTIC_MANIFEST_PATH
    with SemanticLayer(settings.serving_path, definitions) as layer:
        if args.list:
            print(render.catalog(layer.metrics()))
            return 0
        if not args.metrics:
            raise MetricsError("name at least one metric, e.g. `product-metrics query mrr --by "
                               "segment`; `product-metrics query --list` shows them all")
        metrics = [m for arg in args.metrics for m in arg.split(",") if m]
        by = [d for arg in args.by for d in arg.split(",") if d]
        grain = None if args.grain == "all" else args.grain
        if args.explain:
            print(layer.explain(metrics, by, grain))
            return 0
        start = dt.date.fromisoformat(args.from_day) if args.from_day else None
        end = dt.date.fromisoformat(args.to_day) if args.to_day else None
        result = layer.query(metrics, by=by, grain=grain, start=start, end=end,
                             where=args.where, limit=args.limit)
    if args.format == "csv":
        sys.stdout.write(render.to_csv(result))
    elif args.format == "json":
        print(render.to_json(result))
    else:
        print(render.table(result))
    return 0


def _open_in_browser(path: Path) -> bool:
    """Open ``path`` in the system browser; False on a machine without one (no display)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False  # headless: do not let webbrowser fall back to a text browser in this terminal
    import webbrowser

    try:
        return webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        return False


def cmd_report(args: argparse.Namespace) -> int:
    from dagster_project.reports import svg_worker
    from dagster_project.reports.kpi_report import write_report
    from dagster_project.settings import metric_vars

    settings = _load(args)
    out = Path(args.out).resolve() if args.out else settings.report_path
    with svg_worker.running():  # the charts' SVGs drawn beside the building of the next
        report = write_report(settings.serving_path, out, currency=settings.reporting_currency,
                              params=metric_vars(settings),
                              semantic_manifest=settings.semantic_manifest_path)
    drawn = sum(p.has_chart for p in report.panels)
    print(f"KPI report: {out}")
    print(f"  {drawn} of {len(report.panels)} charts drawn from {settings.serving_path}"
          + (f" (data through {report.as_of})" if report.as_of else ""))
    for panel in report.panels:
        if not panel.has_chart:
            print(f"  no chart for {panel.title}: {panel.empty or panel.error}")
    if args.open:
        if _open_in_browser(out):
            print("  opened in your browser")
        else:
            print("  no browser here (no display): open the file above on a machine with one")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """dbt's documentation site as one offline HTML file: lineage of every model, each
    model's and column's description, and the column types of the working warehouse."""
    from dagster_project.definitions import _dbt_executable
    from dagster_project.defs.transform.project import apply_dbt_env
    from dagster_project.warehouse_lock import hold_warehouse

    settings = _load(args)
    if not settings.warehouse_path.exists():
        raise MetricsError(f"no warehouse at {settings.warehouse_path}: run `product-metrics "
                           "build` first (the docs read column types from it)")
    out = Path(args.out).resolve() if args.out else settings.docs_dir
    apply_dbt_env(settings)
    cmd = [_dbt_executable(), "docs", "generate", "--static", "--quiet",
           "--project-dir", str(PROJECT_ROOT / "dbt_models"),
           "--profiles-dir", str(PROJECT_ROOT / "dbt_models"), "--target", "duckdb",
           "--target-path", str(out), "--vars", json.dumps(settings.dbt_cli_vars())]
    with hold_warehouse(settings.warehouse_path, "product-metrics docs"):
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    page = out / "static_index.html"
    if done.returncode != 0 or not page.exists():
        detail = (done.stdout + done.stderr).strip().splitlines()
        raise MetricsError("dbt docs generate failed: " + (detail[-1] if detail else "no output"))
    print(f"dbt docs: {page}")
    print("  one HTML file: every model's lineage, description and columns with their types")
    if args.serve:
        return _serve(out, args.host, args.port)
    if args.open:
        if _open_in_browser(page):
            print("  opened in your browser")
        else:
            print("  no browser here (no display): open the file above on a machine with one")
    return 0


def _serve(folder: Path, host: str, port: int) -> int:
    """Serve ``folder`` over HTTP until Ctrl-C or SIGTERM."""
    import functools
    import http.server
    import signal

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"  serving on http://{host}:{port}/static_index.html (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from dagster_project.defs.transform.project import ensure_manifest

    ensure_manifest()
    env = dict(os.environ)
    env.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home"))
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster if dagster.exists() else "dagster"), "dev", "-w",
           str(PROJECT_ROOT / "workspace.yaml"), "-p", str(args.port), "-h", args.host]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)")
    return _run_until_stopped(cmd, env)


def _run_until_stopped(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``dagster dev`` in its own process group; SIGTERM or Ctrl-C stops the whole
    group (webserver, daemon, code server, runs it launched): an interrupt, then SIGKILL
    after 2 s (measured: `dagster dev` then waits on its code servers for 10 s or more, and
    ignores SIGTERM while it does). Without this a SIGTERM to ``product-metrics ui`` left
    them all running. A run killed this way is safe: the served file is swapped atomically
    and the next build recovers."""
    import signal

    child = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True)

    class Stop(Exception):
        pass

    def stop(signum: int, _frame: object) -> None:
        raise Stop(signum)  # leaves child.wait() below, which holds the child's wait lock

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return child.wait()
    except Stop as why:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig, wait in ((signal.SIGINT, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(child.pid, sig)
                child.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        # Not SystemExit: interpreter shutdown would then wait ~10 s on library threads.
        sys.stdout.flush()
        os._exit(128 + int(why.args[0]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="product-metrics",
        description=(
            "Product-KPI warehouse for SaaS teams: landed files are ingested into DuckDB, "
            "dbt builds fact tables and metric marts, data-quality checks guard every stage, "
            "and only a build that passed its checks is published for BI tools."
        ),
        epilog=EPILOG.format(settings=_settings_epilog()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"product-metrics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    g = _add_parser(
        sub, "generate",
        help="write a realistic demo landing data set",
        description="Write a deterministic demo data set for every landing source "
        "(same arguments, same bytes).",
    )
    g.add_argument("--out", metavar="DIR", help="landing folder to write ("
                   f"METRICS_LANDING_DIR{_default('METRICS_LANDING_DIR')})")
    g.add_argument("--customers", type=int, default=1000, help="number of customers (default 1000)")
    g.add_argument("--days", type=int, default=730, help="days of history (default 730)")
    g.add_argument("--start", metavar="DATE", help="first day, YYYY-MM-DD (default 2024-01-01)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument("--bad-rows", action="store_true",
                   help="also land a few contract-breaking rows, to see the quarantine at work")
    g.set_defaults(func=cmd_generate)

    b = _add_parser(
        sub, "build", settings=True,
        help="ingest, transform, check and publish (the whole asset graph)",
        description="Materialise the whole Dagster asset graph in this process: ingest new "
        "landing files, build the dbt models, run every check, and publish the marts to the "
        "serving database only if every blocking check passed. Exit code 1 when it did not "
        "publish, with the reason; exit code 2, before any step, when another build holds the "
        "working warehouse (one writer at a time: it names that build) or a setting is wrong. The first build builds everything; later ones are "
        "incremental: the daily facts (product events, user-days) rebuild the newest day, "
        "the METRICS_LOOKBACK_DAYS days before it, and every event and user-day the new "
        "files touched (late events included); the small marts rebuild in full. When "
        "nothing landed and nothing changed since the last published build (landing files, "
        "settings, code), it says so and stops in a second or two, the served data untouched. "
        "While it runs it shows its progress: one updating line on a terminal (stage, assets "
        "done, checks run, rows ingested, slowest step), a line per step in a log.",
    )
    _settings_flags(b)
    b.add_argument("--full-refresh", action="store_true",
                   help="rebuild everything from the landed rows (re-derive every source, "
                   "rebuild the daily facts from all raw rows)")
    b.add_argument("--from", dest="from_day", metavar="DAY",
                   help="backfill: rebuild the daily facts of the days --from .. --to "
                   "(YYYY-MM-DD, both included) instead of the nightly window")
    b.add_argument("--to", dest="to_day", metavar="DAY", help="last day of the backfill")
    b.add_argument("--engine", choices=["duckdb", "spark"],
                   help="where the dbt models run (METRICS_ENGINE, default duckdb); spark needs "
                   "pip install -e '.[spark]' and Java 17, see docs/SPARK.md")
    b.add_argument("--report-json", metavar="PATH",
                   help="also write the build report (checks, step timings) as JSON")
    b.add_argument("--quiet", action="store_true",
                   help="no progress while it runs (the summary is still printed)")
    b.set_defaults(func=cmd_build)

    s = _add_parser(sub, "scorecard", help="print the KPI scorecard from the serving database",
                    description="Print every KPI of the published scorecard (marts.kpi_scorecard) "
                    "against its target: actual, target, attainment, status.")
    _settings_flags(s)
    s.add_argument("--period", metavar="PERIOD",
                   help="YYYY-MM or YYYY-Qn (default: the latest period of each KPI)")
    s.add_argument("--no-color", action="store_true", help="plain text, no colours")
    s.set_defaults(func=cmd_scorecard)

    q = _add_parser(
        sub, "query", help="answer 'metric X by dimension Y by month' from the semantic layer",
        description="Query the semantic layer (dbt semantic models and metrics, run by "
        "MetricFlow) against the published marts in the serving database, read-only: one "
        "definition per KPI, the one the scorecard's actuals are compiled from. Metrics and "
        "dimensions by name; `--list` prints every metric with its definition and what it can "
        "be grouped by. Periods are the reporting calendar's; rates are recomputed for each "
        "period and slice from their parts (a zero denominator gives an empty cell).",
        epilog="examples:\n"
        "  product-metrics query --list\n"
        "  product-metrics query mrr net_mrr_churn_rate --by segment --grain quarter\n"
        "  product-metrics query cac ltv_to_cac --by channel --from 2025-01-01\n"
        "  product-metrics query nps --by segment --format csv > nps.csv\n"
        "  product-metrics query arr --explain          # the SQL MetricFlow runs",
    )
    q.add_argument("metrics", nargs="*", metavar="METRIC",
                   help="metric names (space or comma separated)")
    q.add_argument("--by", action="append", default=[], metavar="DIMENSION",
                   help="group by this dimension (repeat or comma-separate): segment, region, "
                   "acquisition_channel, channel, product, revenue_type, step_name, rep_name")
    q.add_argument("--grain", default="month", choices=["day", "week", "month", "quarter", "year", "all"],
                   help="period of each row (default month; all: one row over every period)")
    q.add_argument("--from", dest="from_day", metavar="DAY", help="first day (YYYY-MM-DD)")
    q.add_argument("--to", dest="to_day", metavar="DAY", help="last day (YYYY-MM-DD)")
    q.add_argument("--where", action="append", default=[], metavar="FILTER",
                   help="MetricFlow filter, e.g. \"{{ Dimension('mrr_bridge__region') }} = 'emea'\"")
    q.add_argument("--limit", type=int, help="at most this many rows")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="output format (default table)")
    q.add_argument("--list", action="store_true", help="list every metric and its definition")
    q.add_argument("--explain", action="store_true", help="print the SQL instead of running it")
    q.add_argument("--serving", metavar="PATH", help="serving database "
                   f"(METRICS_SERVING_PATH{_default('METRICS_SERVING_PATH')})")
    q.set_defaults(func=cmd_query)

    r = _add_parser(
        sub, "report",
        help="write the KPI report (one HTML file) from the serving database",
        description="Draw every published KPI from the serving database into one self-contained "
        "HTML file (charts as inline SVG, no network needed): by default "
        "serving/report.html beside the serving database, as every build does.",
    )
    r.add_argument("--serving", metavar="PATH", help="serving database "
                   f"(METRICS_SERVING_PATH{_default('METRICS_SERVING_PATH')})")
    r.add_argument("--out", metavar="PATH", help="where to write the report (default: beside the serving database)")
    r.add_argument("--open", action="store_true", help="open it in the system browser (headless: print the path)")
    r.set_defaults(func=cmd_report)

    d = _add_parser(
        sub, "docs", help="write dbt's documentation site (lineage, models, columns) as one HTML file",
        description="Run `dbt docs generate --static` against the working warehouse: one "
        "self-contained HTML file with every model's lineage graph, description and columns "
        "(with types). By default serving/docs/static_index.html beside the serving database, "
        "next to the KPI report, which links it.",
    )
    d.add_argument("--warehouse", metavar="PATH", help="working warehouse "
                   f"(METRICS_WAREHOUSE_PATH{_default('METRICS_WAREHOUSE_PATH')})")
    d.add_argument("--serving", metavar="PATH", help="serving database "
                   f"(METRICS_SERVING_PATH{_default('METRICS_SERVING_PATH')}); "
                   "the docs go to serving/docs/ beside it")
    d.add_argument("--out", metavar="DIR", help="folder to write it to instead")
    d.add_argument("--serve", action="store_true", help="then serve it over HTTP (Ctrl-C stops)")
    d.add_argument("--port", type=int, default=8080, help="port for --serve (default 8080)")
    d.add_argument("--host", default="127.0.0.1", help="host for --serve (default 127.0.0.1)")
    d.add_argument("--open", action="store_true", help="open it in the system browser (headless: print the path)")
    d.set_defaults(func=cmd_docs)

    u = _add_parser(sub, "ui", settings=True, help="open the Dagster UI (lineage, runs, checks)",
                    description="Start the Dagster UI (`dagster dev`) on this project: the asset "
                    "graph, runs, checks and schedules. Materialising from the UI uses the same "
                    "settings as `build`. Ctrl-C or SIGTERM stops it.")
    u.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    u.add_argument("--host", default="127.0.0.1", help="host (default 127.0.0.1)")
    u.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        code = args.func(args)
    except MetricsError as exc:
        print(f"product-metrics {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.command in {"generate", "build"}:
        print(f"({time.perf_counter() - started:.1f} s)")
    return code


def entry() -> None:
    """The ``product-metrics`` command: :func:`main`, then the process ends without Python's
    shutdown (~1 s with Dagster and dbt loaded) once the output is flushed: every command
    has closed its databases and files by the time it returns."""
    from dagster_project.workers import exit_now

    code = main()
    exit_now(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    entry()
