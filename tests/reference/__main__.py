"""Hand run: build a landing folder's marts (ingest + dbt, no publish) and compare them with
the reference. Not part of the suite (a build costs a minute).

    python -m tests.reference --generate 200,400,3 --tz America/New_York --work /tmp/ref1
    python -m tests.reference --landing data/landing --as-of 2024-06-15 --work /tmp/ref2
    python -m tests.reference --generate 80,300,5 --sources customers,subscription_events,invoices
    python -m tests.reference --generate 80,300,5 --currency EUR   # lands EUR fx_rates
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from tests.reference import Config, compare_all, compute, read_landing
from tests.reference.common import SEEDS


def _eur_rates(landing: Path) -> None:
    """fx_rates in EUR terms from the USD seed: USD at 1/EUR, GBP at GBP/EUR."""
    by_day: dict[str, dict[str, float]] = {}
    with open(SEEDS / "fx_rates.csv") as f:
        for r in csv.DictReader(f):
            by_day.setdefault(r["rate_date"], {})[r["currency"].upper()] = float(r["rate"])
    out = landing / "fx_rates"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "eur_rates.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate_date", "currency", "rate_to_reporting"])
        for d, rates in sorted(by_day.items()):
            eur = rates["EUR"]
            w.writerow([d, "USD", repr(1 / eur)])
            if "GBP" in rates:
                w.writerow([d, "GBP", repr(rates["GBP"] / eur)])


def build(landing: Path, work: Path, dbt_vars: dict) -> Path:
    import duckdb

    from dagster_project.ingest import ingest_all
    from dagster_project.ingest.fx import FxSettings
    from dagster_project.transform.buying_trend import build_buying_trend
    from tests.dbt_harness import run_dbt

    wh = work / "warehouse.duckdb"
    if wh.exists():
        wh.unlink()
    con = duckdb.connect(str(wh))
    try:
        ingest_all(con, landing, fx=FxSettings(dbt_vars.get("reporting_currency", "USD"),
                                               dbt_vars.get("reporting_timezone", "UTC")))
    finally:
        con.close()
    run_dbt(wh, ["seed"], dbt_vars)
    run_dbt(wh, ["run"], dbt_vars)
    con = duckdb.connect(str(wh))
    try:
        build_buying_trend(
            con,
            float(dbt_vars.get("smoothing_alpha", 0.5)),
            int(dbt_vars.get("forecast_months", 3)),
        )
    finally:
        con.close()
    return wh


def _settings(args: argparse.Namespace) -> tuple[dict, Config]:
    """The dbt vars and the reference's Config for the time zone, currency, as-of date and
    other vars given on the command line."""
    extra = json.loads(args.vars)
    dbt_vars = {"reporting_timezone": args.tz, "reporting_currency": args.currency, **extra}
    if args.as_of:
        dbt_vars["as_of_date"] = args.as_of
    config = Config(
        reporting_timezone=args.tz,
        reporting_currency=args.currency,
        as_of_date=date.fromisoformat(args.as_of) if args.as_of else None,
        vars=extra,
    )
    return dbt_vars, config


def _report(diffs: list) -> int:
    """Print the marts that differ from the reference, with their problems; the exit code."""
    for d in diffs:
        print(d.table)
        for problem in d.problems:
            print("   ", problem)
    print("no differences" if not diffs else f"{len(diffs)} marts differ")
    return 1 if diffs else 0


def _random_run(args: argparse.Namespace) -> int:
    from tests.dbt_harness import build_fixture_warehouse, run_dbt
    from tests.reference import from_csv_texts
    from tests.reference.random_data import generate

    texts = generate(args.random)
    dbt_vars, config = _settings(args)
    wh = args.work / "warehouse.duckdb"
    if not args.db:
        if wh.exists():
            wh.unlink()
        build_fixture_warehouse(wh, texts, reporting_currency=args.currency)
        run_dbt(wh, ["seed"], dbt_vars)
        run_dbt(wh, ["run"], dbt_vars)
    marts = compute(from_csv_texts(texts, config), config)
    marts.pop("buying_trend_monthly", None)  # a Python asset, not built by dbt
    return _report(compare_all(args.db or wh, marts))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.reference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--landing", type=Path)
    p.add_argument("--generate", help="customers,days,seed[,start] of a demo data set")
    p.add_argument(
        "--random",
        type=int,
        metavar="SEED",
        help="the corner-case data set of tests/reference/random_data.py instead",
    )
    p.add_argument("--bad-rows", action="store_true", help="with --generate: land bad rows too")
    p.add_argument(
        "--next-day",
        action="store_true",
        help="with --generate: then land the nightly drop of the day after (late events, updates)",
    )
    p.add_argument("--sources", help="keep only these landing sources (comma-separated)")
    p.add_argument("--work", type=Path, default=Path("/tmp/reference_run"))
    p.add_argument("--tz", default="UTC")
    p.add_argument("--currency", default="USD")
    p.add_argument("--as-of", dest="as_of")
    p.add_argument("--vars", default="{}", help="other dbt vars as JSON")
    p.add_argument("--db", type=Path, help="compare this built database instead of building")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    landing = args.landing
    if args.generate:
        from dagster_project.generate import generate, land_next_day

        parts = args.generate.split(",")
        landing = args.work / "landing"
        if landing.exists():
            shutil.rmtree(landing)
        customers, days, seed = int(parts[0]), int(parts[1]), int(parts[2])
        start = date.fromisoformat(parts[3]) if len(parts) > 3 else date(2024, 1, 1)
        generate(
            landing, customers=customers, days=days, seed=seed, start=start, bad_rows=args.bad_rows
        )
        if args.next_day:  # only the one day after the window is consistent with it
            land_next_day(landing, customers=customers, days=days, seed=seed, start=start)
    if args.random is not None:
        return _random_run(args)
    if landing is None:
        p.error("--landing, --generate or --random")
    if args.sources:
        keep = set(args.sources.split(","))
        for folder in landing.iterdir():
            if folder.is_dir() and folder.name not in keep:
                shutil.rmtree(folder)
    if args.currency == "EUR":
        _eur_rates(landing)
    dbt_vars, config = _settings(args)
    t = time.monotonic()
    db = args.db or build(landing, args.work, dbt_vars)
    print(f"built {db} in {time.monotonic() - t:.0f} s")
    t = time.monotonic()
    marts = compute(read_landing(landing, config), config)
    print(
        f"reference in {time.monotonic() - t:.0f} s: {sum(map(len, marts.values()))} rows, "
        f"{len(marts)} marts"
    )
    return _report(compare_all(db, marts))


if __name__ == "__main__":
    sys.exit(main())
