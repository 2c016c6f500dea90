"""Landing files -> typed, deduplicated rows, written from docs/LANDING.md.

Plain Python on small data (the reference must not share code with the pipeline): files of
``<landing>/<source>/**`` in order of their path relative to the source folder, rows in file
order; CSV, JSON Lines, Parquet, optionally gzip; a file whose bytes were seen before is
skipped. Rows that break the contract are dropped here (the pipeline quarantines them), so
the metrics see what the pipeline's staging sees.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

# column: (type, required, default, enum)
T, TS, D, M, I, B, E, C, J = "text", "ts", "date", "money", "int", "bool", "enum", "cur", "json"

SPEC: dict[str, dict[str, tuple]] = {
    "customers": {
        "customer_id": (T, True),
        "created_at": (TS, True),
        "name": (T,),
        "segment": (T,),
        "region": (T,),
        "country": (T,),
        "acquisition_channel": (T,),
        "sales_rep_id": (T,),
    },
    "users": {
        "user_id": (T, True),
        "customer_id": (T,),
        "signed_up_at": (TS, True),
        "acquisition_channel": (T,),
        "email": (T,),
    },
    "product_events": {
        "event_id": (T, True),
        "event_name": (T, True),
        "occurred_at": (TS, True),
        "user_id": (T,),
        "anonymous_id": (T,),
        "properties": (J,),
    },
    "subscription_events": {
        "event_id": (T, True),
        "subscription_id": (T, True),
        "customer_id": (T, True),
        "event_type": (E, True, None, ("created", "changed", "canceled")),
        "effective_at": (TS, True),
        "occurred_at": (TS,),
        "plan_id": (T,),
        "billing_period": (E, False, "month", ("month", "quarter", "year")),
        "unit_amount": (M,),
        "quantity": (I, False, 1),
        "discount_amount": (M, False, 0.0),
        "currency": (C, True),
    },
    "invoices": {
        "invoice_id": (T, True),
        "customer_id": (T, True),
        "issued_at": (TS, True),
        "amount": (M, True),
        "currency": (C, True),
        "revenue_type": (
            E,
            False,
            "subscription",
            ("subscription", "usage", "services", "one_time", "other"),
        ),
        "status": (E, False, "paid", ("paid", "open", "void", "refunded")),
        "product": (T,),
    },
    "bookings": {
        "booking_id": (T, True),
        "customer_id": (T, True),
        "booked_at": (TS, True),
        "contract_months": (I, True),
        "total_contract_value": (M, True),
        "currency": (C, True),
        "sales_rep_id": (T,),
        "product": (T,),
        "revenue_type": (
            E,
            False,
            None,
            ("subscription", "usage", "services", "one_time", "other"),
        ),
        "is_new_business": (B,),
    },
    "marketing_spend": {
        "spend_date": (D, True),
        "channel": (T, True),
        "amount": (M, True),
        "currency": (C, True),
        "cost_type": (E, False, "marketing", ("marketing", "sales")),
        "motion": (E, False, "new_business", ("new_business", "expansion", "brand")),
    },
    "leads": {
        "lead_id": (T, True),
        "created_at": (TS, True),
        "channel": (T,),
        "is_qualified": (B, False, True),
        "customer_id": (T,),
        "converted_at": (TS,),
    },
    "survey_responses": {
        "response_id": (T, True),
        "survey": (E, True, None, ("nps", "csat")),
        "responded_at": (TS, True),
        "score": (I, True),
        "customer_id": (T,),
        "user_id": (T,),
        "comment": (T,),
    },
    "releases": {
        "release_id": (T, True),
        "name": (T, True),
        "planned_at": (TS,),
        "released_at": (TS,),
        "product": (T,),
        "kind": (E, False, None, ("feature", "product")),
    },
    "fx_rates": {
        "rate_date": (D, True),
        "currency": (C, True),
        "rate_to_reporting": (M,),
        "base_currency": (C,),
        "rate": (M,),
    },
}
# Money sources: the column whose day (reporting time zone) picks the exchange rate.
MONEY_DAY = {
    "subscription_events": "effective_at",
    "invoices": "issued_at",
    "bookings": "booked_at",
    "marketing_spend": "spend_date",
}
KEYS = {
    "customers": ("customer_id",),
    "users": ("user_id",),
    "product_events": ("event_id",),
    "subscription_events": ("event_id",),
    "invoices": ("invoice_id",),
    "bookings": ("booking_id",),
    "marketing_spend": (),
    "leads": ("lead_id",),
    "survey_responses": ("response_id",),
    "releases": ("release_id",),
    "fx_rates": ("rate_date", "currency"),
}
SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".parquet")
TRUE, FALSE = {"true", "t", "1", "yes", "y"}, {"false", "f", "0", "no", "n"}


class Invalid(ValueError):
    pass


def parse_ts(text: str) -> datetime:
    """ISO-8601; with an offset or Z exact, without one UTC. Naive UTC out."""
    t = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        t += "T00:00:00"
    try:
        value = datetime.fromisoformat(t.replace(" ", "T", 1))
    except ValueError as exc:
        raise Invalid(f"unparsable timestamp {text!r}") from exc
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _typed(kind: str, text: str, enum: tuple = ()) -> object:
    if kind == T:
        return text
    if kind == TS:
        return parse_ts(text)
    if kind == D:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return parse_ts(text).date()
    if kind == M:
        try:
            return float(text)
        except ValueError as exc:
            raise Invalid(f"unparsable number {text!r}") from exc
    if kind == I:
        try:
            x = float(text)
        except ValueError as exc:
            raise Invalid(f"unparsable integer {text!r}") from exc
        if x != int(x):
            raise Invalid(f"unparsable integer {text!r}")
        return int(x)
    if kind == B:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise Invalid(f"unparsable boolean {text!r}")
    if kind == E:
        if text.lower() not in enum:
            raise Invalid(f"unknown value {text!r}")
        return text.lower()
    if kind == C:
        if not re.fullmatch(r"[A-Z]{3}", text.upper()):
            raise Invalid(f"not a currency {text!r}")
        return text.upper()
    if kind == J:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise Invalid("invalid JSON") from exc
        if not isinstance(obj, dict):
            raise Invalid("JSON not an object")
        return text
    raise AssertionError(kind)


def type_row(source: str, raw: dict[str, object]) -> dict[str, object]:
    """Typed row (contract columns only) or Invalid."""
    out: dict[str, object] = {}
    for col, spec in SPEC[source].items():
        # (type, required=False, default=None, enum=())
        kind, required, default, enum = (*spec, *(False, None, ())[len(spec) - 1 :])
        value = raw.get(col)
        text = None if value is None else str(value).strip()
        if text == "":
            text = None
        if text is None:
            if required:
                raise Invalid(f"missing {col}")
            out[col] = default
            continue
        typed = _typed(kind, text, enum)
        if kind in (M, I) and typed < 0 and col not in ("rate_to_reporting", "rate"):
            raise Invalid(f"negative {col}")
        out[col] = typed
    if source == "product_events" and out["user_id"] is None and out["anonymous_id"] is None:
        raise Invalid("no user_id or anonymous_id")
    if (
        source == "subscription_events"
        and out["event_type"] in ("created", "changed")
        and out["unit_amount"] is None
    ):
        raise Invalid("unit_amount required")
    if source == "bookings" and out["contract_months"] == 0:
        raise Invalid("contract_months 0")
    if source == "survey_responses":
        lo, hi = (0, 10) if out["survey"] == "nps" else (1, 5)
        if not lo <= out["score"] <= hi:
            raise Invalid("score out of range")
    if source == "fx_rates":
        if out["rate"] is None and out["rate_to_reporting"] is None:
            raise Invalid("no rate")
        if out["rate"] is not None and out["rate_to_reporting"] is not None:
            raise Invalid("two rates")
        if out["rate"] is not None and out["base_currency"] is None:
            raise Invalid("rate without base")
        if (out["rate"] if out["rate"] is not None else out["rate_to_reporting"]) <= 0:
            raise Invalid("rate not positive")
    return out


def _json_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _read(path: Path) -> list[dict[str, object]]:
    name = path.name
    if name.endswith(".parquet"):
        import duckdb  # reading Parquet only; every value as text, timestamps in UTC

        con = duckdb.connect()
        try:
            con.execute("set TimeZone='UTC'")
            rel = con.sql(f"select * from read_parquet('{path}', hive_partitioning=false)")
            cols = rel.columns
            casts = ", ".join(f'cast("{c}" as varchar)' for c in cols)
            return [
                dict(zip(cols, r, strict=True))
                for r in con.sql(
                    f"select {casts} from read_parquet('{path}', hive_partitioning=false)"
                ).fetchall()
            ]
        finally:
            con.close()
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    if ".csv" in name:
        return list(csv.DictReader(io.StringIO(text)))
    return [
        {k: _json_text(v) for k, v in json.loads(line).items()}
        for line in text.splitlines()
        if line.strip()
    ]


def landing_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name.endswith(SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


@dataclass
class Landed:
    rows: dict[str, list[dict[str, object]]]  # source -> accepted rows, deduplicated
    dropped: dict[str, int]  # rows the contract rejects (the pipeline's quarantine)


def accept(source: str, raw_rows: list[dict[str, object]],
           has_rate=None) -> tuple[list[dict], int]:
    """Type, validate and dedupe rows given in landing order (each may carry _order).
    ``has_rate(row)``: for a money source, False quarantines the row (no exchange rate on
    or before its day), before duplicates are compared."""
    typed: list[dict] = []
    bad = 0
    for i, r in enumerate(raw_rows):
        try:
            row = type_row(source, r)
        except Invalid:
            bad += 1
            continue
        if has_rate is not None and source in MONEY_DAY and not has_rate(source, row):
            bad += 1
            continue
        row["_order"] = r.get("_order", i)
        typed.append(row)
    key = KEYS[source]
    if not key:
        return typed, bad
    groups: dict[tuple, list[dict]] = {}
    for row in typed:
        groups.setdefault(tuple(row[k] for k in key), []).append(row)
    content = [c for c in SPEC[source]]
    out: list[dict] = []
    for rows in groups.values():
        if source == "customers":
            out.append(rows[-1])  # the last landed row gives the current attributes
            continue
        if len({tuple(r[c] for c in content) for r in rows}) > 1:
            bad += len(rows)  # same id, different content: all quarantined
            continue
        out.append(rows[0])
    if source == "subscription_events":
        owner: dict[str, str] = {}
        kept = []
        for row in sorted(out, key=lambda r: r["_order"]):
            first = owner.setdefault(row["subscription_id"], row["customer_id"])
            if first != row["customer_id"]:
                bad += 1
                continue
            kept.append(row)
        out = kept
    out.sort(key=lambda r: r["_order"])
    return out, bad


def _rate_judge(fx_rows: list[dict], config):
    """has_rate for accept(): the money row's currency converts on the row's day."""
    from tests.reference.common import Clock, Fx

    fx, clock = Fx(config, fx_rows), Clock(config.reporting_timezone)

    def has_rate(source: str, row: dict) -> bool:
        value = row[MONEY_DAY[source]]
        day = value if type(value) is date else clock.day(value)
        return fx.rate(row["currency"], day) is not None

    return has_rate


def _fx_first(sources):
    return ["fx_rates", *(s for s in sources if s != "fx_rates")]


def read_landing(landing: Path, config=None) -> Landed:
    """``config`` (a common.Config) enables the exchange-rate rule on money rows."""
    rows: dict[str, list[dict]] = {}
    dropped: dict[str, int] = {}
    for source in _fx_first(SPEC):
        seen: set[str] = set()
        raw_rows: list[dict[str, object]] = []
        for path in landing_files(landing / source):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                continue  # the same file landed twice changes nothing
            seen.add(digest)
            for r in _read(path):
                r["_order"] = len(raw_rows)
                raw_rows.append(r)
        judge = _rate_judge(rows["fx_rates"], config) if config and source != "fx_rates" else None
        rows[source], dropped[source] = accept(source, raw_rows, judge)
    return Landed({s: rows[s] for s in SPEC}, {s: dropped[s] for s in SPEC})


def from_csv_texts(texts: dict[str, str], config=None) -> Landed:
    """Rows from CSV texts per source (the dbt fixture format: '#' lines are comments)."""
    rows: dict[str, list[dict]] = {}
    dropped: dict[str, int] = {}
    for source in _fx_first(SPEC):
        text = texts.get(source, "")
        lines = [x.strip() for x in text.strip().splitlines()]
        lines = [x for x in lines if x and not x.startswith("#")]
        raw = list(csv.DictReader(lines)) if lines else []
        judge = _rate_judge(rows["fx_rates"], config) if config and source != "fx_rates" else None
        rows[source], dropped[source] = accept(source, raw, judge)
    return Landed({s: rows[s] for s in SPEC}, {s: dropped[s] for s in SPEC})
