"""Benchmark: speed, memory and how cost grows with data.

Generates data at named scales, then measures, each as a separate process under
``/usr/bin/time -v`` (wall seconds and peak RSS, children included):
  generate, the DuckDB baseline scan of every landed file, a full build (with the
  per-stage breakdown from the build's own step timings), and (at tiny, S and M) an
  incremental nightly run after landing one more day. Builds run with DuckDB memory_limit
  2GB unless --memory-limit says otherwise; what does not fit spills.

    .venv/bin/python bench/run.py                 # S and M, writes bench/RESULTS.md
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
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# name: (customers, days, events target, opt-in)
SCALES = {
    "tiny": (20, 45, "~5k", False),
    "S": (1_000, 730, "~1M", False),
    "M": (10_000, 730, "~10M", False),
    "L": (100_000, 730, "~100M", True),
}
# The nightly incremental run is measured at these scales (the targets name M; at L it
# would add many minutes to a run that is about completing at all).
INCREMENTAL_SCALES = ("tiny", "S", "M")
TARGETS = {
    "M full build": "<= 90 s and <= 3 GiB peak RSS",
    "M incremental": "<= 20 s and < 1/5 of the full build",
    "L full build": "< 15 min without running out of memory",
    "generate": ">= 1 million events per second",
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
    baseline: dict[str, float] = field(default_factory=dict)
    baseline_total: float = 0.0
    full: Measure | None = None
    full_stages: dict[str, float] = field(default_factory=dict)
    incremental: Measure | None = None
    incremental_stages: dict[str, float] = field(default_factory=dict)
    full_dbt: dict[str, object] = field(default_factory=dict)
    incremental_dbt: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "full: ..." / "incremental: ..."


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Measure:
    """Run ``cmd`` under GNU time; wall seconds and peak RSS (MiB, largest process)."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
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


def baseline_scan(landing: Path) -> dict[str, float]:
    """Seconds DuckDB alone needs to read each source's files once (count(*))."""
    script = r"""
import json, sys, time, duckdb
from pathlib import Path
landing = Path(sys.argv[1])
con = duckdb.connect()
con.execute("set threads=2")
out = {}
for src in sorted(p for p in landing.iterdir() if p.is_dir()):
    files = sorted(str(f) for f in src.rglob('*') if f.is_file())
    t = time.perf_counter()
    n = 0
    for f in files:
        if '.parquet' in f:
            n += con.execute(f"select count(*) from read_parquet('{f}')").fetchone()[0]
        elif '.csv' in f:
            n += con.execute(f"select count(*) from read_csv('{f}', all_varchar=true)").fetchone()[0]
        else:
            n += con.execute(f"select count(*) from read_csv('{f}', columns={{'l':'VARCHAR'}}, delim=chr(1), quote='', escape='', header=false)").fetchone()[0]
    out[src.name] = [round(time.perf_counter() - t, 3), n]
print(json.dumps(out))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(landing)], check=False, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stage_breakdown(report_json: Path) -> dict[str, float]:
    if not report_json.exists():
        return {}
    steps = json.loads(report_json.read_text()).get("step_seconds", {})
    stages = {"ingest": 0.0, "dbt build (models + dbt tests)": 0.0, "checks (GX, invariants)": 0.0,
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
            stages["checks (GX, invariants)"] += secs
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


def run_scale(name: str, work: Path, memory_limit: str) -> ScaleResult:
    customers, days, _, _ = SCALES[name]
    res = ScaleResult(name, customers, days)
    base = work / name
    shutil.rmtree(base, ignore_errors=True)
    landing = base / "landing"
    env = {
        "METRICS_LANDING_DIR": str(landing),
        "METRICS_WAREHOUSE_PATH": str(base / "warehouse.duckdb"),
        "METRICS_SERVING_PATH": str(base / "serving.duckdb"),
        "METRICS_DUCKDB_TEMP_DIR": str(base / "tmp"),
        "METRICS_DUCKDB_MEMORY_LIMIT": memory_limit,
        "DAGSTER_HOME": "",
    }
    cli = str(BIN / "product-metrics")
    res.generate = timed([cli, "generate", "--out", str(landing), "--customers", str(customers),
                          "--days", str(days)], env)
    if not res.generate.ok:
        raise RuntimeError(f"generate failed at {name}: {res.generate.output}")
    scan = baseline_scan(landing)
    res.baseline = {k: v[0] for k, v in scan.items()}
    res.rows = {k: v[1] for k, v in scan.items()}
    res.baseline_total = round(sum(res.baseline.values()), 2)
    report = base / "full.json"
    started = time.time()
    res.full = timed([cli, "build", "--report-json", str(report)], env)
    res.full_stages = stage_breakdown(report)
    res.full_dbt = dbt_summary(DBT_RUN_RESULTS, since=started)
    res.errors += [f"full build: {e}" for e in build_errors(report)]
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
        res.incremental = timed([cli, "build", "--report-json", str(report)], env)
        res.incremental_stages = stage_breakdown(report)
        res.incremental_dbt = dbt_summary(DBT_RUN_RESULTS, since=started)
        res.errors += [f"incremental: {e}" for e in build_errors(report)]
    else:
        res.incremental = None
    return res


def _fmt(m: Measure | None) -> str:
    if m is None:
        return "n/a"
    return f"{m.seconds:.1f} s, {m.peak_rss_mib:.0f} MiB" + ("" if m.ok else " (FAILED)")


def render(results: list[ScaleResult], memory_limit: str = "") -> str:
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
            "process)."
            + (f" DuckDB memory_limit {memory_limit} (METRICS_DUCKDB_MEMORY_LIMIT), spilling "
               "to the scale's tmp folder." if memory_limit else "")
        ),
        "",
        "| scale | customers | events | generate | events/s | DuckDB scan (baseline) | full build | x baseline | incremental (+1 day) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        events = r.rows.get("product_events", 0)
        eps = events / r.generate.seconds if r.generate and r.generate.seconds else 0
        ratio = (r.full.seconds / r.baseline_total) if r.full and r.baseline_total else 0
        lines.append(
            f"| {r.scale} | {r.customers:,} | {events:,} | {_fmt(r.generate)} | {eps:,.0f} | "
            f"{r.baseline_total:.2f} s | {_fmt(r.full)} | {ratio:.0f}x | {_fmt(r.incremental)} |"
        )
    lines += ["", "## Stage breakdown (seconds, from the build's step timings)", ""]
    for r in results:
        lines.append(f"### {r.scale}")
        lines.append("")
        lines.append("| stage | full build | incremental |")
        lines.append("|---|---|---|")
        for stage, secs in r.full_stages.items():
            lines.append(f"| {stage} | {secs} | {r.incremental_stages.get(stage, '')} |")
        lines.append("")
        for error in r.errors:
            lines.append(f"FAILED, {error}")
            lines.append("")
        for label, dbt in (("full build", r.full_dbt), ("incremental", r.incremental_dbt)):
            if dbt:
                nodes = ", ".join(f"{n} {kind}s {t} s" for kind, (n, t) in dbt["nodes"].items())
                slow = ", ".join(f"{name} {t} s" for name, t in dbt["slowest"])
                lines.append(f"Main dbt step, {label}: {dbt['elapsed']} s elapsed; node seconds "
                             f"summed: {nodes}; slowest: {slow}.")
                lines.append("")
        lines.append("Baseline scan per source (s): " + ", ".join(
            f"{k} {v}" for k, v in sorted(r.baseline.items())))
        lines.append("")
        lines.append("Rows landed: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.rows.items())))
        lines.append("")
    lines += ["## Targets", ""] + [f"- {v}" for v in verdicts(results)]
    return "\n".join(lines) + "\n"


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


def verdicts(results: list[ScaleResult]) -> list[str]:
    """Each target of issue 8 against the figures of this run: met, missed (with the
    bottleneck) or not measured."""
    by = {r.scale: r for r in results}
    out = []
    m = by.get("M")
    if m and m.full:
        ok = m.full.ok and m.full.seconds <= 90 and m.full.peak_rss_mib <= 3 * 1024
        line = (f"M full build {TARGETS['M full build']}: {_fmt(m.full)}: "
                + ("met" if ok else "MISSED; " + _bottleneck(m.full_stages, m.full_dbt)))
        out.append(line)
    else:
        out.append(f"M full build {TARGETS['M full build']}: not measured in this run")
    if m and m.full and m.incremental:
        share = m.incremental.seconds / m.full.seconds if m.full.seconds else 0
        ok = m.incremental.ok and m.incremental.seconds <= 20 and share < 0.2
        line = (f"M incremental {TARGETS['M incremental']}: {_fmt(m.incremental)}, "
                f"{share:.0%} of the full build: "
                + ("met" if ok else "MISSED; "
                   + _bottleneck(m.incremental_stages, m.incremental_dbt)))
        out.append(line)
    else:
        out.append(f"M incremental {TARGETS['M incremental']}: not measured in this run")
    big = by.get("L")
    if big and big.full:
        ok = big.full.ok and big.full.seconds < 15 * 60
        out.append(f"L full build {TARGETS['L full build']}: {_fmt(big.full)}: "
                   + ("met" if ok else "MISSED; " + _bottleneck(big.full_stages, big.full_dbt)))
    else:
        out.append(f"L full build {TARGETS['L full build']}: not run (opt-in: --scales L)")
    rates = [(r.scale, r.rows.get("product_events", 0) / r.generate.seconds)
             for r in results if r.generate and r.generate.seconds and r.rows.get("product_events")]
    if rates:
        scale, eps = max(rates, key=lambda t: t[1])
        out.append(f"generate {TARGETS['generate']}: best {eps:,.0f} events/s (at {scale}, whole "
                   "process, every source and file format written): "
                   + ("met" if eps >= 1_000_000 else "MISSED"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="S,M", help="comma-separated: tiny, S, M, L (default S,M)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--workdir", default=str(ROOT / "data" / "bench"))
    parser.add_argument("--memory-limit", default="2GB",
                        help="DuckDB memory_limit for the builds (default 2GB, which keeps M "
                        "under its 3 GiB peak RSS target; what does not fit spills to the "
                        "scale's tmp folder)")
    args = parser.parse_args(argv)
    results = []
    for name in [s.strip() for s in args.scales.split(",") if s.strip()]:
        if name not in SCALES:
            parser.error(f"unknown scale {name}; choose from {', '.join(SCALES)}")
        print(f"[bench] scale {name} ...", flush=True)
        r = run_scale(name, Path(args.workdir), args.memory_limit)
        print(f"[bench] {name}: generate {_fmt(r.generate)}; full build {_fmt(r.full)}; "
              f"incremental {_fmt(r.incremental)}; stages {r.full_stages}", flush=True)
        results.append(r)
    results.sort(key=lambda r: list(SCALES).index(r.scale))
    text = render(results, args.memory_limit)
    Path(args.out).write_text(text)
    print(text)
    print(f"[bench] written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
