"""Benchmark: what a build costs next to what its data costs.

Every figure stands next to a baseline measured in the same run (machines differ by 2x from
day to day, so only ratios are compared with targets). Each is a separate process under
``/usr/bin/time -v`` (wall seconds and peak RSS of the largest process). An untimed build
of the tiny scale runs first: the first build after a change to the dbt project pays dbt's
full parse (~5 s) once, which a nightly build never does.

  generate                 the demo data set of the scale
  plain read (baseline)    DuckDB alone reading every landed file into tables in a fresh
                           database file, per source (``create table as select * from
                           read_parquet/read_csv/read_json``); the median of three reads
  full build               ``product-metrics build`` on a fresh warehouse, with the stage
                           breakdown and each source's ingestion from the build's steps
  nothing new              the same command again at once: nothing landed, nothing changed
  nightly (+1 day)         one more day lands, then a build (at tiny, small, S and M)
  bare dbt build           ``dbt build`` of a one-model dbt-duckdb project (the baseline of
                           the small landing's build). Both are short (~12 s and ~3 s),
                           where the machine's noise is a tenth of the figure: the small
                           target compares the medians of three of each, run alternately
                           (the first full build, then bare, full, bare, full, bare)
  revenue race (R)         dbt-labs/mrr-playbook's three models against ``product-metrics
                           build`` on the same month-aligned subscription periods, 1 M
                           customers (bench/revenue_race.py); the playbook comes from a
                           checkout (--mrr-playbook PATH) or a git clone, never from this
                           repository

Builds run with DuckDB memory_limit 1500MB unless --memory-limit says otherwise (the
process around DuckDB needs ~0.3-0.5 GiB more, so this keeps a build within 2 GiB); our
build in the revenue race with 1100MB (--race-memory-limit), for its 1.5 GiB target; what
does not fit spills.

    .venv/bin/python bench/run.py                 # small, S, M and R; writes bench/RESULTS.md
    .venv/bin/python bench/run.py --scales R --mrr-playbook ~/src/mrr-playbook
    .venv/bin/python bench/run.py --scales L      # opt-in: 100 000 customers
    .venv/bin/python bench/run.py --scales tiny --out /tmp/r.md   # smoke

Timings are printed and written, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import revenue_race

BIN = Path(sys.executable).parent

# name: (customers, days, events target, opt-in)
SCALES = {
    "tiny": (20, 45, "~5k", False),
    "small": (60, 150, "~50k", False),
    "S": (1_000, 730, "~1M", False),
    "M": (10_000, 730, "~10M", False),
    "L": (100_000, 730, "~100M", True),
}
DEFAULT_SCALES = "small,S,M,R"
# The revenue race: customers (about 2.7 subscription periods each).
RACE_CUSTOMERS = 1_000_000
# DuckDB's memory_limit for every build (a whole build process stays within ~2 GiB).
MEMORY_LIMIT = "1500MB"
# ... but for our side of the revenue race, whose target is 1.5 GiB for the whole build:
# DuckDB's limit bounds its buffers, not the process around them (~0.3 GiB more).
RACE_MEMORY_LIMIT = "1100MB"
# The nightly run is measured at these scales (at L it would add many minutes).
INCREMENTAL_SCALES = ("tiny", "small", "S", "M")
# Runs of the small landing's full build and of the bare dbt build, alternated, whose medians
# the small target compares.
SMALL_REPEATS = 3
# A source's ingestion ratio is judged only when its plain read takes at least this long:
# below it, both are fixed costs (opening a file, a transaction) and the ratio says nothing.
MIN_JUDGED_READ_SECONDS = 0.2

TARGETS = {
    "nothing new": "nightly build with nothing new landed <= 10% of the full build",
    "small": "build of the small landing (60 customers, 150 days) <= 4x a bare dbt build",
    "M full": "M full build <= 10x the plain read, <= 2 GiB peak RSS",
    "M nightly": "M nightly (+1 day) <= 15% of the M full build",
    "L full": "L full build <= 15x the plain read, <= 4 GiB peak RSS",
    "ingestion": "ingestion of any source <= 3x the plain read of its files (at M)",
    "R": "revenue only, 1 M customers: <= 2x mrr-playbook's three models, <= 1.5 GiB",
}


@dataclass
class Measure:
    seconds: float
    peak_rss_mib: float
    ok: bool
    output: str = ""


@dataclass
class ScaleResult:
    scale: str
    customers: int
    days: int
    rows: dict[str, int] = field(default_factory=dict)
    generate: Measure | None = None
    baseline: dict[str, float] = field(default_factory=dict)  # plain read, per source
    baseline_total: float = 0.0
    full: Measure | None = None
    full_stages: dict[str, float] = field(default_factory=dict)
    ingestion: dict[str, float] = field(default_factory=dict)  # full build, per source
    nothing_new: Measure | None = None
    nothing_new_said: bool = False  # the second build said "Nothing new landed"
    incremental: Measure | None = None
    incremental_stages: dict[str, float] = field(default_factory=dict)
    full_dbt: dict[str, object] = field(default_factory=dict)
    incremental_dbt: dict[str, object] = field(default_factory=dict)
    bare_dbt: Measure | None = None
    # at the small scale: every full build on a fresh warehouse and every bare dbt build
    full_runs: list[Measure] = field(default_factory=list)
    bare_runs: list[Measure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "full: ..." / "incremental: ..."


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> Measure:
    """Run ``cmd`` under GNU time; wall seconds and peak RSS (MiB, largest process)."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    err = proc.stderr
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", err)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    seconds = 0.0
    if wall:
        h, m, s = wall.groups()
        seconds = (int(h or 0) * 3600) + int(m) * 60 + float(s)
    return Measure(
        seconds=round(seconds, 2),
        peak_rss_mib=round(int(rss.group(1)) / 1024, 1) if rss else 0.0,
        ok=proc.returncode == 0,
        output=(proc.stdout + "\n" + err)[-3000:],
    )


PLAIN_READ = r"""
import json, sys, time, duckdb
from pathlib import Path
landing, db = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(db)
con.execute("set threads=2")
out = {}
for src in sorted(p for p in landing.iterdir() if p.is_dir()):
    files = sorted(str(f) for f in src.rglob('*') if f.is_file() and not f.name.startswith('.'))
    t = time.perf_counter()
    parts = []
    for kind, test in (("parquet", lambda f: f.endswith('.parquet')),
                       ("csv", lambda f: '.csv' in f),
                       ("json", lambda f: '.jsonl' in f or '.ndjson' in f)):
        chosen = [f for f in files if test(f)]
        if not chosen:
            continue
        listed = "[" + ", ".join("'" + f + "'" for f in chosen) + "]"
        reader = {"parquet": f"read_parquet({listed}, union_by_name=true)",
                  "csv": f"read_csv({listed}, union_by_name=true)",
                  "json": f"read_json({listed}, format='newline_delimited', union_by_name=true)"}[kind]
        table = f'"{src.name}_{kind}"'
        con.execute(f"create table {table} as select * from {reader}")
        parts.append(table)
    n = sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in parts)
    out[src.name] = [round(time.perf_counter() - t, 3), n]
print(json.dumps(out))
"""


# The plain read is the baseline of most ratios, and on these machines one read of the same
# files took 7.5 s in one run and 10.1 s in the next: each source's figure is the median of
# this many reads (each a process of its own into a fresh database file).
PLAIN_READS = 3


def plain_read(landing: Path, db: Path, reads: int = PLAIN_READS) -> dict[str, list[float]]:
    """Seconds DuckDB alone needs to read each source's files into a table of a fresh
    database file (the median of ``reads`` reads), and the rows it read:
    {source: [seconds, rows]}."""
    runs: list[dict[str, list[float]]] = []
    for _ in range(reads):
        db.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-c", PLAIN_READ, str(landing), str(db)], check=False,
            capture_output=True, text=True,
        )
        db.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {source: [statistics.median(run[source][0] for run in runs), runs[0][source][1]]
            for source in runs[0]}


def one_model_project(project: Path, name: str = "bare", threads: int = 2) -> Path:
    """Write a dbt-duckdb project of one model (``select 1``) with its profile into
    ``project`` (its database beside them); returns ``project``."""
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nprofile: {name}\nmodel-paths: [models]\n")
    (project / "profiles.yml").write_text(
        f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {project / (name + '.duckdb')}\n      threads: {threads}\n")
    (project / "models" / "one.sql").write_text("select 1 as x\n")
    return project


def bare_dbt_build(work: Path) -> Measure:
    """``dbt build`` of a one-model dbt-duckdb project: dbt's own fixed cost."""
    project = work / "bare_dbt"
    shutil.rmtree(project, ignore_errors=True)
    one_model_project(project)
    return timed([str(BIN / "dbt"), "build", "--project-dir", str(project), "--profiles-dir",
                  str(project)], {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}, cwd=project)


def stage_breakdown(report_json: Path) -> dict[str, float]:
    if not report_json.exists():
        return {}
    steps = json.loads(report_json.read_text()).get("step_seconds", {})
    stages = {"ingest": 0.0, "dbt build (models + dbt tests)": 0.0, "checks (Great Expectations)": 0.0,
              "reports": 0.0, "publish": 0.0}
    for key, secs in steps.items():
        if key.startswith("raw__"):
            stages["ingest"] += secs
        elif key.startswith("dbt_models"):
            stages["dbt build (models + dbt tests)"] += secs
        elif key.startswith("serving__"):
            stages["publish"] += secs
        elif "buying_trend" in key:
            stages["reports"] += secs
        else:
            stages["checks (Great Expectations)"] += secs
    return {k: round(v, 2) for k, v in stages.items()}


DBT_RUN_RESULTS = ROOT / "dbt_models" / "target" / "dbt_models" / "run_results.json"


def build_errors(report_json: Path) -> list[str]:
    """The failed steps' errors from a build's report (each on one line, shortened)."""
    if not report_json.exists():
        return []
    report = json.loads(report_json.read_text())
    return [" ".join(str(e).split())[:400] for e in report.get("step_errors", []) if str(e).strip()]


def dbt_summary(run_results: Path, since: float = 0.0) -> dict[str, object]:
    """What the main dbt step spent its time on (its run_results.json): node counts and
    summed node seconds per kind, dbt's own elapsed time and the five slowest nodes.
    Empty when the file is older than ``since`` (the main step did not run in the build
    measured: the file is another run's)."""
    if not run_results.exists() or run_results.stat().st_mtime < since:
        return {}
    data = json.loads(run_results.read_text())
    kinds: dict[str, list[float]] = {}
    for r in data.get("results", []):
        kinds.setdefault(r["unique_id"].split(".")[0], []).append(float(r["execution_time"]))
    slowest = sorted(data.get("results", []), key=lambda r: -float(r["execution_time"]))[:5]
    return {
        "elapsed": round(float(data.get("elapsed_time") or 0), 2),
        "nodes": {k: [len(v), round(sum(v), 2)] for k, v in sorted(kinds.items())},
        "slowest": [[r["unique_id"].split(".")[-1], round(float(r["execution_time"]), 2)]
                    for r in slowest],
    }


def ingestion_seconds(report_json: Path) -> dict[str, float]:
    """Each source's ingestion step (raw__<source>) in a build's report."""
    if not report_json.exists():
        return {}
    steps = json.loads(report_json.read_text()).get("step_seconds", {})
    return {k.removeprefix("raw__"): v for k, v in steps.items() if k.startswith("raw__")}


def build_env(base: Path, memory_limit: str) -> dict[str, str]:
    """The settings of a measured build: everything under ``base``, no Dagster home."""
    return {
        "METRICS_LANDING_DIR": str(base / "landing"),
        "METRICS_WAREHOUSE_PATH": str(base / "warehouse.duckdb"),
        "METRICS_SERVING_PATH": str(base / "serving.duckdb"),
        "METRICS_DUCKDB_TEMP_DIR": str(base / "tmp"),
        "METRICS_DUCKDB_MEMORY_LIMIT": memory_limit,
        "DAGSTER_HOME": "",
    }


def warm_up(work: Path, memory_limit: str) -> Measure:
    """One build of the tiny scale, not reported: it leaves dbt's partial parse (and every
    other cache a build keeps from run to run) as the builds measured next find them on any
    night but the first after a change to the dbt project."""
    customers, days, _, _ = SCALES["tiny"]
    base = work / "warm_up"
    shutil.rmtree(base, ignore_errors=True)
    env = build_env(base, memory_limit)
    cli = str(BIN / "product-metrics")
    made = timed([cli, "generate", "--out", str(base / "landing"), "--customers",
                  str(customers), "--days", str(days)], env)
    if not made.ok:
        raise RuntimeError(f"generate failed at the warm-up: {made.output}")
    return timed([cli, "build", "--quiet"], env)


def median_run(runs: list[Measure]) -> Measure | None:
    """The run of median time (of an even number, the slower of the middle two)."""
    return sorted(runs, key=lambda m: m.seconds)[len(runs) // 2] if runs else None


def small_repeats(res: ScaleResult, base: Path, env: dict[str, str], cli: str) -> None:
    """The bare dbt build and more full builds of the same landing on fresh warehouses,
    alternated: bare, full, bare, full, ... (SMALL_REPEATS of each with the first full
    build); ``bare_dbt`` is the median bare build."""
    res.full_runs = [res.full] if res.full else []
    for i in range(SMALL_REPEATS):
        res.bare_runs.append(bare_dbt_build(base))
        if i == SMALL_REPEATS - 1:
            break
        again = base / f"full-{i + 2}"
        shutil.rmtree(again, ignore_errors=True)
        res.full_runs.append(timed([cli, "build", "--quiet"], {
            **build_env(again, env["METRICS_DUCKDB_MEMORY_LIMIT"]),
            "METRICS_LANDING_DIR": env["METRICS_LANDING_DIR"]}))
    res.bare_dbt = median_run(res.bare_runs)


def run_scale(name: str, work: Path, memory_limit: str) -> ScaleResult:
    customers, days, _, _ = SCALES[name]
    res = ScaleResult(name, customers, days)
    base = work / name
    shutil.rmtree(base, ignore_errors=True)
    landing = base / "landing"
    env = build_env(base, memory_limit)
    cli = str(BIN / "product-metrics")
    res.generate = timed([cli, "generate", "--out", str(landing), "--customers", str(customers),
                          "--days", str(days)], env)
    if not res.generate.ok:
        raise RuntimeError(f"generate failed at {name}: {res.generate.output}")
    scan = plain_read(landing, base / "plain_read.duckdb")
    res.baseline = {k: v[0] for k, v in scan.items()}
    res.rows = {k: v[1] for k, v in scan.items()}
    res.baseline_total = round(sum(res.baseline.values()), 2)
    report = base / "full.json"
    started = time.time()
    res.full = timed([cli, "build", "--quiet", "--report-json", str(report)], env)
    res.full_stages = stage_breakdown(report)
    res.ingestion = ingestion_seconds(report)
    res.full_dbt = dbt_summary(DBT_RUN_RESULTS, since=started)
    res.errors += [f"full build: {e}" for e in build_errors(report)]
    # The same command at once: a night on which nothing landed.
    res.nothing_new = timed([cli, "build", "--quiet"], env)
    res.nothing_new_said = "Nothing new landed" in res.nothing_new.output
    if name == "small":
        small_repeats(res, base, env, cli)
    if name not in INCREMENTAL_SCALES:
        return res
    # The nightly incremental run: one more day lands, then a build.
    code = (
        "from pathlib import Path; from dagster_project.generate import land_next_day; "
        f"land_next_day(Path({str(landing)!r}), customers={customers}, days={days})"
    )
    add_day = timed([sys.executable, "-c", code], env)
    if add_day.ok:
        report = base / "incremental.json"
        started = time.time()
        res.incremental = timed([cli, "build", "--quiet", "--report-json", str(report)], env)
        res.incremental_stages = stage_breakdown(report)
        res.incremental_dbt = dbt_summary(DBT_RUN_RESULTS, since=started)
        res.errors += [f"incremental: {e}" for e in build_errors(report)]
    return res


@dataclass
class RaceResult:
    customers: int
    periods: int = 0
    events: int = 0
    playbook_from: str = ""
    memory_limit: str = ""  # DuckDB's memory_limit of our build
    not_run: str = ""  # why the race was not run (no checkout, the playbook changed)
    generate: Measure | None = None
    playbook: Measure | None = None
    ours: Measure | None = None
    ours_stages: dict[str, float] = field(default_factory=dict)
    ours_dbt: dict[str, object] = field(default_factory=dict)
    months: int = 0
    differ: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_race(work: Path, memory_limit: str, checkout: str | None,
             customers: int = RACE_CUSTOMERS) -> RaceResult:
    """Scale R: the playbook's three models and our build on the same periods, each a
    process of its own, then the check that both give the same MRR in every month."""
    res = RaceResult(customers, memory_limit=memory_limit)
    base = work / "R"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    found, res.playbook_from = revenue_race.playbook_checkout(work, checkout)
    if found is None:
        res.not_run = res.playbook_from
        return res
    res.generate = timed([sys.executable, str(ROOT / "bench" / "revenue_race.py"),
                          "--customers", str(customers), "--workdir", str(base)])
    if not res.generate.ok:
        raise RuntimeError(f"the race's periods were not generated: {res.generate.output}")
    said = json.loads(next(ln for ln in res.generate.output.splitlines() if ln.startswith("{")))
    res.periods, res.events = said["periods"], said["events"]
    try:
        project = revenue_race.playbook_project(found, base / "playbook",
                                                base / "subscription_periods.parquet")
    except ValueError as exc:
        res.not_run = str(exc)
        return res
    res.playbook = timed([str(BIN / "dbt"), "run", "--project-dir", str(project),
                          "--profiles-dir", str(project)],
                         {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}, cwd=project)
    if not res.playbook.ok:
        res.errors.append("playbook: " + " ".join(res.playbook.output.split())[-400:])
    env = {**build_env(base, memory_limit), "METRICS_REPORTING_TIMEZONE": "UTC"}
    report = base / "build.json"
    started = time.time()
    res.ours = timed([str(BIN / "product-metrics"), "build", "--quiet", "--as-of",
                      revenue_race.AS_OF, "--report-json", str(report)], env)
    res.ours_stages = stage_breakdown(report)
    res.ours_dbt = dbt_summary(DBT_RUN_RESULTS, since=started)
    res.errors += [f"product-metrics: {e}" for e in build_errors(report)]
    if res.playbook.ok and res.ours.ok:
        res.months, res.differ = revenue_race.compare_mrr(
            project / "playbook.duckdb", base / "serving.duckdb")
    return res


def _fmt(m: Measure | None) -> str:
    if m is None:
        return "n/a"
    return f"{m.seconds:.1f} s, {m.peak_rss_mib:.0f} MiB" + ("" if m.ok else " (FAILED)")


def _runs(runs: list[Measure]) -> str:
    return ", ".join(f"{m.seconds:.1f} s" + ("" if m.ok else " (failed)") for m in runs)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def render(results: list[ScaleResult], memory_limit: str = "",
           race: RaceResult | None = None) -> str:
    import duckdb

    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "# Benchmark results",
        "",
        (
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
            f"{mem_gib:.0f} GiB, {platform.platform()}; Python {platform.python_version()}, "
            f"duckdb {duckdb.__version__}. Made by `make bench` (bench/run.py): each figure is "
            "a whole process under `/usr/bin/time -v` (wall time, peak RSS of the largest "
            "process), next to its baseline measured in the same run (the plain read: "
            f"each source's median of {PLAIN_READS} reads), after an untimed warm-up build "
            "(so no measured build pays dbt's one-off full parse after a code change)."
            + (f" DuckDB memory_limit {memory_limit} (METRICS_DUCKDB_MEMORY_LIMIT), spilling "
               "to the scale's tmp folder." if memory_limit else "")
        ),
        "",
        "## Targets",
        "",
    ] + [f"- {v}" for v in verdicts(results, race)] + [
        "",
        "## Every scale",
        "",
        ("| scale | customers | events | generate | plain read (baseline) | full build | x plain "
         "read | nothing new | % of full | nightly (+1 day) | % of full |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        events = r.rows.get("product_events", 0)
        full = r.full.seconds if r.full else None
        x_read = _ratio(full, r.baseline_total)
        noop = _ratio(r.nothing_new.seconds if r.nothing_new else None, full)
        nightly = _ratio(r.incremental.seconds if r.incremental else None, full)
        lines.append(
            f"| {r.scale} | {r.customers:,} | {events:,} | {_fmt(r.generate)} | "
            f"{r.baseline_total:.2f} s | {_fmt(r.full)} | "
            f"{f'{x_read:.1f}x' if x_read else 'n/a'} | {_fmt(r.nothing_new)} | "
            f"{f'{noop:.0%}' if noop is not None else 'n/a'} | {_fmt(r.incremental)} | "
            f"{f'{nightly:.0%}' if nightly is not None else 'n/a'} |"
        )
    lines += ["", "## Stage breakdown (seconds, from the build's step timings)", ""]
    for r in results:
        lines.append(f"### {r.scale}")
        lines.append("")
        lines.append("| stage | full build | nightly |")
        lines.append("|---|---|---|")
        for stage, secs in r.full_stages.items():
            lines.append(f"| {stage} | {secs} | {r.incremental_stages.get(stage, '')} |")
        lines.append("")
        if r.bare_dbt:
            lines.append(f"Bare dbt build (one model, dbt-duckdb): {_fmt(r.bare_dbt)}"
                         + (f", the median of {_runs(r.bare_runs)}" if len(r.bare_runs) > 1
                            else "") + ".")
            lines.append("")
        if len(r.full_runs) > 1:
            lines.append(f"Full builds of this landing on fresh warehouses, alternated with "
                         f"the bare dbt builds: {_runs(r.full_runs)}; the median "
                         f"{_fmt(median_run(r.full_runs))}.")
            lines.append("")
        for error in r.errors:
            lines.append(f"FAILED, {error}")
            lines.append("")
        for label, dbt in (("full build", r.full_dbt), ("nightly", r.incremental_dbt)):
            if dbt:
                lines.append(f"Main dbt step, {label}: {_dbt_figures(dbt)}")
                lines.append("")
        lines.append("Ingestion against the plain read, per source (s): " + ", ".join(
            f"{k} {r.ingestion.get(k, 'n/a')} / {v}" for k, v in sorted(r.baseline.items())))
        lines.append("")
        lines.append("Rows landed: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.rows.items())))
        lines.append("")
    if race is not None:
        lines += render_race(race)
    return "\n".join(lines) + "\n"


def _agreement(race: RaceResult) -> str:
    if not race.months:
        return "not compared."
    if not race.differ:
        return f"equal in all {race.months} months."
    return f"{len(race.differ)} of {race.months} months differ: {'; '.join(race.differ[:3])}."


def render_race(race: RaceResult) -> list[str]:
    lines = ["## Revenue only (R): against mrr-playbook", ""]
    if race.not_run:
        return [*lines, f"Not run: {race.not_run}.", ""]
    x = _ratio(race.ours.seconds if race.ours else None,
               race.playbook.seconds if race.playbook else None)
    lines += [
        (f"{race.customers:,} customers, {race.periods:,} month-aligned subscription periods "
         f"({race.events:,} subscription events landed; generated in {_fmt(race.generate)}). "
         f"The playbook from {race.playbook_from}, its three models and the periods table "
         "built as tables by `dbt run` on dbt-duckdb (bench/revenue_race.py lists every "
         "change made to its SQL); ours: `product-metrics build` (ingestion, every model and "
         "dbt test, every check, the publish)"
         + (f", with DuckDB memory_limit {race.memory_limit} for the target's 1.5 GiB."
            if race.memory_limit else ".")),
        "",
        "| side | wall time, peak RSS | x the playbook |",
        "|---|---|---|",
        f"| mrr-playbook (`dbt run`, 5 models) | {_fmt(race.playbook)} | 1.0x |",
        f"| product-metrics build | {_fmt(race.ours)} | {f'{x:.1f}x' if x else 'n/a'} |",
        "",
        ("Monthly MRR (the playbook's `sum(mrr)` per month, our `saas_metrics_monthly.mrr_end`): "
         + _agreement(race)),
        "",
    ]
    if race.ours_stages:
        lines += ["| stage of our build | seconds |", "|---|---|"]
        lines += [f"| {stage} | {secs} |" for stage, secs in race.ours_stages.items()]
        lines.append("")
    if race.ours_dbt:
        lines += [f"Our main dbt step: {_dbt_figures(race.ours_dbt)}", ""]
    lines += [f"FAILED, {error}" for error in race.errors]
    return lines


def _dbt_figures(dbt: dict[str, object]) -> str:
    """The main dbt step's line: elapsed time, node seconds per kind, the slowest nodes."""
    nodes = ", ".join(f"{n} {kind}s {t} s" for kind, (n, t) in dbt["nodes"].items())
    slow = ", ".join(f"{name} {t} s" for name, t in dbt["slowest"])
    return f"{dbt['elapsed']} s elapsed; node seconds summed: {nodes}; slowest: {slow}."


def _bottleneck(stages: dict[str, float], dbt: dict[str, object]) -> str:
    """The largest stage and, for dbt, where its time went."""
    if not stages:
        return "no stage timings"
    total = sum(stages.values()) or 1.0
    stage, secs = max(stages.items(), key=lambda kv: kv[1])
    text = f"bottleneck: {stage}, {secs:.1f} s ({secs / total:.0%} of the steps)"
    if stage.startswith("dbt") and dbt:
        nodes = dbt.get("nodes", {})
        parts = [f"{n} {kind}s {t} s" for kind, (n, t) in nodes.items() if n]
        slow = ", ".join(f"{name} {t} s" for name, t in dbt.get("slowest", [])[:3])
        text += (f"; the main dbt step ran {dbt.get('elapsed')} s on 2 threads: "
                 + ", ".join(parts) + f" (node seconds summed); slowest: {slow}")
    return text


def _verdict(ok: bool, missed_why: str = "") -> str:
    return "met" if ok else "MISSED" + (f"; {missed_why}" if missed_why else "")


def _build_verdict(target: str, measured: str, ok: bool, stages: dict[str, float],
                   dbt: dict[str, object]) -> str:
    """A build target's line: what was measured, then met or MISSED with the build's
    bottleneck."""
    return f"{TARGETS[target]}: {measured}: " + _verdict(ok, _bottleneck(stages, dbt))


def _not_measured(target: str, hint: str = "") -> str:
    return f"{TARGETS[target]}: not measured in this run" + (f" ({hint})" if hint else "")


def race_verdict(race: RaceResult | None) -> str:
    """Scale R: our build <= 2x the playbook's three models and <= 1.5 GiB, on the same
    answer (MRR equal in every month)."""
    if race is None:
        return _not_measured("R", "--scales R")
    if race.not_run:
        return f"{TARGETS['R']}: not measured: {race.not_run}"
    if not (race.playbook and race.ours and race.playbook.ok and race.ours.ok):
        return f"{TARGETS['R']}: FAILED to run: " + "; ".join(race.errors)
    if race.differ or not race.months:
        return (f"{TARGETS['R']}: MISSED: the monthly MRR differs in {len(race.differ)} of "
                f"{race.months} months (first: {race.differ[0] if race.differ else 'none'})")
    x = race.ours.seconds / race.playbook.seconds
    at_scale = race.customers == RACE_CUSTOMERS
    ok = at_scale and x <= 2 and race.ours.peak_rss_mib <= 1.5 * 1024
    measured = (("" if at_scale else f"at {race.customers:,} customers only (--race-customers): ")
                + f"{_fmt(race.ours)} against the playbook's {_fmt(race.playbook)}, "
                f"{x:.1f}x, the same MRR in all {race.months} months")
    return _build_verdict("R", measured, ok, race.ours_stages, race.ours_dbt)


def verdicts(results: list[ScaleResult], race: RaceResult | None = None) -> list[str]:
    """Each target of issue 15 against the figures of this run, with its baseline: met,
    missed (with the bottleneck) or not measured."""
    by = {r.scale: r for r in results}
    out = []
    noop = [r for r in results if r.nothing_new and r.full]
    if noop:
        parts, ok = [], True
        for r in noop:
            share = r.nothing_new.seconds / r.full.seconds
            said = r.nothing_new_said and r.nothing_new.ok
            ok = ok and said and share <= 0.10
            parts.append(f"{r.scale} {r.nothing_new.seconds:.1f} s of {r.full.seconds:.1f} s "
                         f"({share:.0%}{'' if said else ', did not say nothing new'})")
        out.append(f"{TARGETS['nothing new']}: {'; '.join(parts)}: {_verdict(ok)}")
    else:
        out.append(_not_measured("nothing new"))
    small = by.get("small")
    full = median_run(small.full_runs) or small.full if small else None
    if small and full and small.bare_dbt:
        x = full.seconds / small.bare_dbt.seconds
        of = (f" (medians of {len(small.full_runs)} and {len(small.bare_runs)} alternated runs)"
              if len(small.full_runs) > 1 else "")
        out.append(_build_verdict(
            "small", f"{full.seconds:.2f} s against {small.bare_dbt.seconds:.2f} s{of}, {x:.2f}x",
            all(m.ok for m in [*(small.full_runs or [full]), *(small.bare_runs or [])])
            and x <= 4, small.full_stages,
            small.full_dbt))
    else:
        out.append(_not_measured("small", "--scales small"))
    for scale, key, limit_x, limit_gib in (("M", "M full", 10, 2), ("L", "L full", 15, 4)):
        r = by.get(scale)
        if r and r.full and r.baseline_total:
            x = r.full.seconds / r.baseline_total
            ok = r.full.ok and x <= limit_x and r.full.peak_rss_mib <= limit_gib * 1024
            out.append(_build_verdict(
                key, f"{_fmt(r.full)} against a plain read of {r.baseline_total:.2f} s, {x:.1f}x",
                ok, r.full_stages, r.full_dbt))
        else:
            out.append(_not_measured(key, "opt-in: --scales L" if scale == "L" else ""))
    m = by.get("M")
    if m and m.full and m.incremental:
        share = m.incremental.seconds / m.full.seconds
        out.append(_build_verdict(
            "M nightly", f"{_fmt(m.incremental)}, {share:.0%} of {m.full.seconds:.1f} s",
            m.incremental.ok and share <= 0.15, m.incremental_stages, m.incremental_dbt))
    else:
        out.append(_not_measured("M nightly"))
    judged = m or max(results, key=lambda r: r.rows.get("product_events", 0), default=None)
    if judged and judged.ingestion:
        ratios = {s: judged.ingestion[s] / judged.baseline[s] for s in judged.ingestion
                  if judged.baseline.get(s, 0) >= MIN_JUDGED_READ_SECONDS}
        if ratios:
            worst = max(ratios, key=ratios.get)
            shown = ", ".join(f"{s} {x:.1f}x" for s, x in sorted(ratios.items()))
            out.append(f"{TARGETS['ingestion']}: at {judged.scale}, {shown} (sources whose "
                       f"plain read takes >= {MIN_JUDGED_READ_SECONDS} s): "
                       + _verdict(ratios[worst] <= 3, f"worst: {worst}"))
        else:
            out.append(f"{TARGETS['ingestion']}: no source large enough at {judged.scale}")
    else:
        out.append(_not_measured("ingestion"))
    out.append(race_verdict(race))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=DEFAULT_SCALES,
                        help=f"comma-separated: {', '.join(SCALES)}, R (default {DEFAULT_SCALES})")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--workdir", default=str(ROOT / "data" / "bench"))
    parser.add_argument("--mrr-playbook", metavar="PATH",
                        help="a checkout of github.com/dbt-labs/mrr-playbook for scale R "
                        "(default: git clone it into the work folder)")
    parser.add_argument("--race-customers", type=int, default=RACE_CUSTOMERS,
                        help=f"customers of scale R (default {RACE_CUSTOMERS:,})")
    parser.add_argument("--race-memory-limit", default=RACE_MEMORY_LIMIT,
                        help=f"DuckDB memory_limit for our build in scale R (default "
                        f"{RACE_MEMORY_LIMIT}: the race's target is 1.5 GiB for the whole build)")
    parser.add_argument("--memory-limit", default=MEMORY_LIMIT,
                        help=f"DuckDB memory_limit for the builds (default {MEMORY_LIMIT}: "
                        "DuckDB's limit bounds its buffers, not the Python process around "
                        "them, so M's 2 GiB peak RSS budget leaves it ~1.5GB; what does not "
                        "fit spills to the scale's tmp folder)")
    args = parser.parse_args(argv)
    results, race = [], None
    print("[bench] warm-up build (tiny, not reported) ...", flush=True)
    warm = warm_up(Path(args.workdir), args.memory_limit)
    print(f"[bench] warm-up: {_fmt(warm)}", flush=True)
    for name in [s.strip() for s in args.scales.split(",") if s.strip()]:
        if name == "R":
            print(f"[bench] scale R (revenue race, {args.race_customers:,} customers) ...",
                  flush=True)
            race = run_race(Path(args.workdir), args.race_memory_limit, args.mrr_playbook,
                            args.race_customers)
            print(f"[bench] R: playbook {_fmt(race.playbook)}; product-metrics "
                  f"{_fmt(race.ours)}; {race.not_run or f'{race.months} months compared'}",
                  flush=True)
            continue
        if name not in SCALES:
            parser.error(f"unknown scale {name}; choose from {', '.join([*SCALES, 'R'])}")
        print(f"[bench] scale {name} ...", flush=True)
        r = run_scale(name, Path(args.workdir), args.memory_limit)
        print(f"[bench] {name}: generate {_fmt(r.generate)}; plain read {r.baseline_total} s; "
              f"full build {_fmt(r.full)}; nothing new {_fmt(r.nothing_new)}; nightly "
              f"{_fmt(r.incremental)}; stages {r.full_stages}", flush=True)
        results.append(r)
    results.sort(key=lambda r: list(SCALES).index(r.scale))
    text = render(results, args.memory_limit, race)
    Path(args.out).write_text(text)
    print(text)
    print(f"[bench] written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
