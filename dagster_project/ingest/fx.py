"""Exchange rates: one rate table in any base, resolved to the reporting currency.

Inputs: the shipped ``seeds/fx_rates.csv`` and the landed ``raw.fx_rates`` rows, each row
``rate_date, base_currency, currency, rate``: one unit of ``currency`` is worth ``rate``
units of ``base_currency`` from ``rate_date`` on. A landed row that gives the older
``rate_to_reporting`` without a base is in terms of the reporting currency (the column's
meaning before bases existed).

Output: ``raw.fx_rates_to_reporting`` (:data:`RESOLVED`): for each currency the dates its
rate to the reporting currency R changes, ``rate_to_reporting`` = reporting units per
unit of the currency, which the staging models join on each money row's own date (the
latest rate on or before it). On a date t of base B it is ``r_B(C, t) / r_B(R, t)``, each
being the latest rate in base B on or before t (``r_B(B, .) = 1``): cross rates through
the base, so one table serves every currency it holds as the reporting currency.

Precedence: landed rows win over the seed. On a date where landed rates exist, seed rows
of that date in another base are set aside (one base per date), and a landed rate wins
over the seed's rate for the same date and currency.

Refused before anything is published (:class:`FxTableError`, naming currency, dates and
files): two bases on one date within the landed rows (or within the seed); a rate for a
base currency itself that is not 1 (the table is not in the base it claims); a seed row
that breaks the landing rules. A reporting currency the table cannot reach is refused by
the money sources that hold other currencies (:func:`unreachable_message`). A money row
whose currency has no rate on or before its own date is quarantined by the ingestion
(``derive``'s rule 1b, reason ``no exchange rate for currency X on or before D``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contract import SOURCES, quote_literal, typed_select_sql
from dagster_project.errors import MetricsError
from dagster_project.ingest.schema import raw_table, scalar, table_exists

RESOLVED = "raw.fx_rates_to_reporting"
SEED_NAME = "seeds/fx_rates.csv"
# Bump when the resolution changes in a way the SQL text does not show.
RESOLUTION_VERSION = "1"

RESOLVED_DDL = f"""create table {RESOLVED} (
  currency VARCHAR,
  rate_date DATE,
  rate_to_reporting DOUBLE,
  base_currency VARCHAR,
  _file VARCHAR,
  _line BIGINT
)"""


class FxTableError(MetricsError):
    """The rate table is ambiguous or cannot serve the reporting currency."""


@dataclass(frozen=True)
class FxSettings:
    """What the resolution depends on besides the rate rows."""

    reporting_currency: str = "USD"
    reporting_timezone: str = "UTC"
    seed_path: Path | None = None  # None: the shipped seeds/fx_rates.csv

    @property
    def seed(self) -> Path:
        if self.seed_path is not None:
            return Path(self.seed_path)
        from dagster_project.settings import SEEDS_DIR

        return SEEDS_DIR / "fx_rates.csv"

    @property
    def currency(self) -> str:
        return self.reporting_currency.strip().upper()


def _seed_rows_sql(seed: Path) -> str:
    """The seed's rows typed by the landing contract of fx_rates (lines numbered like a
    landed CSV: the header is line 1)."""
    if not seed.is_file():
        return ("select null::date as rate_date, null::varchar as currency, null::double as rate, "
                "null::varchar as base_currency, null::double as rate_to_reporting, "
                "null::varchar as _file, null::bigint as _line, null::varchar as _reason where false")
    path = quote_literal(str(seed))
    text = (f"(select *, {quote_literal(SEED_NAME)} as _file, "
            f"cast(row_number() over () + 1 as bigint) as _line, "
            f"cast(null as timestamp) as _ingested_at "
            f"from read_csv({path}, all_varchar = true, header = true)) as seed_text")
    return typed_select_sql("fx_rates", _with_all_columns(text, seed))


def _with_all_columns(relation: str, seed: Path) -> str:
    """``relation`` plus NULL text for contract columns the seed's header lacks."""
    header = seed.read_text(encoding="utf-8-sig").splitlines()[:1]
    present = {h.strip() for h in header[0].split(",")} if header else set()
    missing = [c for c in SOURCES["fx_rates"].column_names if c not in present]
    if not missing:
        return relation
    extra = ", ".join(f"cast(null as varchar) as \"{c}\"" for c in missing)
    return f"(select *, {extra} from {relation}) as seed_cols"


def _rates_sql(settings: FxSettings) -> str:
    """Every usable rate row, seed and landed, with its base, before precedence."""
    r = quote_literal(settings.currency)
    seed = _seed_rows_sql(settings.seed)
    return f"""
select rate_date, coalesce(base_currency, {r}) as base_currency, currency,
       coalesce(rate, rate_to_reporting) as rate, _file, _line, 1 as priority
from {raw_table('fx_rates')}
union all
select rate_date, coalesce(base_currency, {r}), currency, coalesce(rate, rate_to_reporting),
       _file, _line, 2 as priority
from ({seed}) s where _reason is null"""


def _check_seed(con: duckdb.DuckDBPyConnection, settings: FxSettings) -> None:
    seed = settings.seed
    if not seed.is_file():
        return
    try:
        bad = con.execute(f"select _line, _reason from ({_seed_rows_sql(seed)}) s "
                          "where _reason is not null order by _line limit 5").fetchall()
    except duckdb.Error as exc:
        raise FxTableError(f"{SEED_NAME}: cannot read the rate table: "
                           f"{str(exc).splitlines()[0]}") from None
    if bad:
        listed = "; ".join(f"line {line}: {reason}" for line, reason in bad)
        raise FxTableError(f"{SEED_NAME}: rows break the landing rules of fx_rates: {listed}")


def _fail_if_any(con: duckdb.DuckDBPyConnection, sql: str, head: str) -> None:
    rows = con.execute(sql).fetchall()
    if rows:
        raise FxTableError(head + "; ".join(str(r[0]) for r in rows[:5])
                           + (f"; and {len(rows) - 5} more" if len(rows) > 5 else ""))


def _refusals(con: duckdb.DuckDBPyConnection) -> None:
    """Checks over temp table ``_fx_all`` (every rate row with its priority)."""
    # A base currency's own rate must be 1: otherwise the rows are not in the base they say.
    _fail_if_any(con, """
select currency || ' in base ' || base_currency || ' has rate ' || cast(rate as varchar)
       || ' (must be 1) on ' || cast(min(rate_date) as varchar)
       || case when count(*) > 1 then '..' || cast(max(rate_date) as varchar)
               || ' (' || cast(count(*) as varchar) || ' dates)' else '' end
       || ' in ' || string_agg(distinct _file, ', ' order by _file)
from _fx_all where currency = base_currency and rate <> 1
group by currency, base_currency, rate order by min(rate_date), rate""",
                  "the rate table is not in the base it states (rows without base_currency are "
                  "in terms of the reporting currency): ")
    # One base per date, within the landed rows and within the seed.
    _fail_if_any(con, """
with per_date as (
    select priority, rate_date, string_agg(distinct base_currency, ' and ' order by base_currency) as bases,
           string_agg(distinct _file, ', ' order by _file) as files
    from _fx_all group by priority, rate_date having count(distinct base_currency) > 1
)
select bases || ' on ' || cast(min(rate_date) as varchar)
       || case when count(*) > 1 then '..' || cast(max(rate_date) as varchar)
               || ' (' || cast(count(*) as varchar) || ' dates)' else '' end
       || ' in ' || string_agg(distinct files, ', ')
from per_date group by priority, bases order by min(rate_date)""",
                  "rates in two base currencies for one date (a rate table has one base per "
                  "date): ")


def resolve_sql(settings: FxSettings) -> list[str]:
    """Statements that rebuild :data:`RESOLVED` from ``_fx_all``."""
    r = quote_literal(settings.currency)
    return [
        # Landed rows win: a date with landed rates keeps only the seed rows in that base,
        # and the landed rate of a (date, currency) wins over the seed's.
        """create or replace temp table _fx_kept as
with landed_bases as (select distinct rate_date, base_currency from _fx_all where priority = 1)
select * from _fx_all a
where priority = 1
   or not exists (select 1 from landed_bases b
                  where b.rate_date = a.rate_date and b.base_currency <> a.base_currency)
qualify row_number() over (partition by rate_date, base_currency, currency
                           order by priority, _file, _line) = 1""",
        # Each base's dates x the currencies it has quoted by then, each with its latest
        # rate on or before the date; the base itself at 1.
        """create or replace temp table _fx_grid as
with dates as (select distinct base_currency, rate_date from _fx_kept),
firsts as (select base_currency, currency, min(rate_date) as first_date from _fx_kept
           where currency <> base_currency group by all),
grid as (select d.base_currency, d.rate_date, f.currency from dates d
         join firsts f on f.base_currency = d.base_currency and f.first_date <= d.rate_date)
select g.base_currency, g.rate_date, g.currency, k.rate, k._file, k._line
from grid g asof join _fx_kept k
  on k.base_currency = g.base_currency and k.currency = g.currency and g.rate_date >= k.rate_date
union all
select base_currency, rate_date, base_currency, 1.0, null, null from dates""",
        # Rates to R on each date of the grid; a date that changes nothing is left out.
        f"""create or replace table {RESOLVED} as
select * from (
    select c.currency, c.rate_date, c.rate / r.rate as rate_to_reporting, c.base_currency,
           c._file, c._line
    from _fx_grid c join _fx_grid r
      on r.base_currency = c.base_currency and r.rate_date = c.rate_date and r.currency = {r}
    where c.currency <> {r}
)
qualify lag(rate_to_reporting) over (partition by currency order by rate_date)
        is distinct from rate_to_reporting
union all
select {r}, date '1900-01-01', 1.0, {r}, null, null
order by currency, rate_date""",
        "drop table if exists temp._fx_grid",
        "drop table if exists temp._fx_kept",
    ]


def inputs_fingerprint(con: duckdb.DuckDBPyConnection, settings: FxSettings) -> str:
    """Changes when the rate rows, the seed, the reporting currency or this code change."""
    landed = scalar(con, f"""
select coalesce(md5(string_agg(concat_ws('|', rate_date, currency, rate, base_currency,
                                         rate_to_reporting, _file, _line), ','
                               order by _file, _line)), '')
from {raw_table('fx_rates')}""")
    seed = settings.seed
    seed_hash = hashlib.sha256(seed.read_bytes()).hexdigest() if seed.is_file() else "none"
    text = "\n".join([RESOLUTION_VERSION, settings.currency, str(landed), seed_hash,
                      *resolve_sql(settings)])
    return "fx:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _comment(con: duckdb.DuckDBPyConnection) -> str | None:
    value = scalar(con, "select comment from duckdb_tables() where database_name = "
                   "current_database() and schema_name = 'raw' and table_name = ?",
                   ["fx_rates_to_reporting"])
    return None if value is None else str(value)


def resolve(con: duckdb.DuckDBPyConnection, settings: FxSettings, force: bool = False) -> bool:
    """Rebuild :data:`RESOLVED` when its inputs changed (or ``force``); True when rebuilt.
    Raises :class:`FxTableError` (and leaves the earlier table) when the table is refused.
    ``raw.fx_rates`` must exist (``ensure_source_tables``)."""
    fingerprint = inputs_fingerprint(con, settings)
    if not force and table_exists(con, "raw", "fx_rates_to_reporting") \
            and _comment(con) == fingerprint:
        return False
    _check_seed(con, settings)
    con.execute(f"create or replace temp table _fx_all as {_rates_sql(settings)}")
    try:
        _refusals(con)
        con.execute("begin transaction")
        try:
            for stmt in resolve_sql(settings):
                con.execute(stmt)
            con.execute(f"comment on table {RESOLVED} is {quote_literal(fingerprint)}")
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
    finally:
        con.execute("drop table if exists temp._fx_all")
    return True


def ensure_resolved(con: duckdb.DuckDBPyConnection, settings: FxSettings) -> None:
    """:func:`resolve` unless the table is current (cheap: one hash of the rate rows)."""
    resolve(con, settings)


def coverage_state(con: duckdb.DuckDBPyConnection) -> str:
    """The first date each currency can be converted: what the money sources' rule reads
    (so their derivation changes exactly when this does)."""
    value = scalar(con, f"""select coalesce(string_agg(currency || '@' || cast(first_date as varchar),
                                                       ',' order by currency), '')
from (select currency, min(rate_date) as first_date from {RESOLVED} group by 1)""")
    return str(value)


def coverage_sql() -> str:
    """Relation ``(currency, first_date)``: from which day a currency converts."""
    return f"(select currency, min(rate_date) as first_date from {RESOLVED} group by 1)"


def reachable(con: duckdb.DuckDBPyConnection, settings: FxSettings) -> bool:
    """Can any other currency be converted to the reporting currency?"""
    return bool(scalar(con, f"select count(*) from {RESOLVED} where currency <> ?",
                       [settings.currency]))


def table_summary(con: duckdb.DuckDBPyConnection, settings: FxSettings) -> str:
    """'base USD, 2020-01-01..2028-12-01, EUR, GBP (seeds/fx_rates.csv)' per base and origin."""
    con.execute(f"create or replace temp table _fx_all as {_rates_sql(settings)}")
    try:
        rows = con.execute("""
select 'base ' || base_currency || ', ' || cast(min(rate_date) as varchar) || '..'
       || cast(max(rate_date) as varchar) || ', '
       || string_agg(distinct currency, ' ' order by currency) || ' ('
       || case when priority = 2 then 'the shipped seeds/fx_rates.csv'
               else 'landed fx_rates' end || ')'
from _fx_all group by base_currency, priority order by priority, base_currency""").fetchall()
    finally:
        con.execute("drop table if exists temp._fx_all")
    return "; ".join(str(r[0]) for r in rows) or "no rates at all"


def unreachable_message(con: duckdb.DuckDBPyConnection, settings: FxSettings, source: str,
                        currencies: list[str]) -> str:
    return (f"{source}: the reporting currency {settings.currency} cannot be reached from the "
            f"rate table, so rows in {', '.join(currencies)} cannot be converted. The table "
            f"holds: {table_summary(con, settings)}. Land rates that include "
            f"{settings.currency} (fx_rates/, with base_currency), or set "
            "METRICS_REPORTING_CURRENCY to a currency the table holds.")
