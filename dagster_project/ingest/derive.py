"""Deriving a source from ``landed.<source>``: ``raw.<source>``, the source's rows of
``ops.quarantine`` and the counts in ``ops.ingestion_log``.

The result never depends on how files were batched into runs. ``derive`` classifies every
landed row of the source; ``derive_incremental`` only the rows whose classification new
files can change: the new files' rows and, for a source whose rows sharing a key are
compared (rule 2), every landed row with a key that a new row carries. Every rule below
looks at one row or at one key's rows, so re-classifying those complete key groups gives
exactly what a full derive would (ownership, rule 3, looks at a whole subscription's rows
in file order: those sources always derive in full). Rules, in this order (each rule sees
only the rows the earlier ones kept):

0. Reader problems (``landed._read_error``: malformed line, invalid JSON, missing required
   column in the file, unreadable file).
1. Row rules: ``contract.typed_select_sql``'s ``_reason`` (unparsable values, missing
   required values, enums, negative amounts, source rules).
1b. Exchange rates (money sources, ``Source.fx_date``): a row whose currency has no rate to
   the reporting currency on or before the row's day (in the reporting time zone) is
   quarantined, naming the currency and the day. The rates are ``fx.RESOLVED``; the first
   day each currency converts is part of the derivation's fingerprint, so rows come back
   (full derive) when rates that cover them land.
2. Conflicting duplicates (sources with a key and ``on_conflict='quarantine'``): rows that
   share the key but differ in parsed content (the typed contract columns, not lineage
   or ``_extra``; JSON values compared minified) are ALL quarantined. Identical duplicates
   are accepted (staging dedupes). ``customers`` (last_wins) and ``marketing_spend`` (no
   key) skip this rule.
3. Ownership (``subscription_events``): a subscription belongs to the customer of its
   first row in file order (``_file``, ``_line``) among the rows kept by rules 0-2; a row
   naming another customer is quarantined.

Why 2 before 3: when two copies of an event disagree, "we cannot know which is right", so
both go, whichever customer they name; ownership is then decided by a row that is itself
accepted, so the message always points at an accepted row. Ownership is order-dependent
by definition (first in file order); duplicates are not.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import duckdb

from dagster_project.contract import (
    LINEAGE_COLUMNS,
    NATIVE_TYPES,
    SOURCES,
    quote_literal,
    typed_expression,
    typed_select_sql,
)
from dagster_project.ingest import kept
from dagster_project.ingest.fx import coverage_sql
from dagster_project.ingest.schema import landed_table, raw_table, scalar

# (owned column, owner column): the owned id belongs to the owner of its first row.
OWNERSHIP: dict[str, tuple[str, str]] = {
    "subscription_events": ("subscription_id", "customer_id"),
}

# Bump when the derivation changes in a way the generated SQL does not show.
DERIVATION_VERSION = "1"

_CLS = "_ingest_cls"
_DUP = "_ingest_dup"
_DUP_KEYS = "_ingest_dup_keys"
_DUP_SLICES = 4
_OWNER = "_ingest_owner"
_REASON = "_ingest_reason"
_SCOPE = "_ingest_scope"  # landed rows (text) re-derived by an incremental derive
_NEW = "_ingest_new_files"
_FILES = "_ingest_scope_files"
_FX = "_ingest_fx"
_TEMP_TABLES = (_CLS, _DUP_KEYS, _DUP, _OWNER, _REASON, _SCOPE, _NEW, _FILES, _FX)


@dataclass(frozen=True)
class FxRule:
    """What rule 1b needs: the reporting currency and time zone, and the coverage of the
    resolved rates (``fx.coverage_state``: part of the fingerprint, not of the SQL)."""

    currency: str
    timezone: str
    coverage: str = ""


def _row_day(column: str, col_type: str, timezone: str) -> str:
    """The day of a typed value in the reporting time zone (as the staging models take it)."""
    c = _q(column)
    if col_type == "date":
        return c
    if timezone == "UTC":
        return f"cast({c} as date)"
    return f"cast(timezone({quote_literal(timezone)}, timezone('UTC', {c})) as date)"


def _fx_statement(source: str, fx: FxRule | None, cls: str = _CLS) -> str:
    src = SOURCES[source]
    if src.fx_date is None or fx is None:
        return (f"create or replace temp table {_FX} as select null::bigint as _rid, "
                "null::varchar as reason where false")
    day = _row_day(src.fx_date, src.column(src.fx_date).type, fx.timezone)
    r = quote_literal(fx.currency)
    return f"""create or replace temp table {_FX} as
select c._rid,
       'no exchange rate for currency ' || c.currency || ' on or before '
       || cast(c._day as varchar) || ' (to the reporting currency ' || {r}
       || '; rates: fx_rates and seeds/fx_rates.csv)' as reason
from (select _rid, currency, {day} as _day from {cls}
      where _read_error is null and _reason is null and currency <> {r}) c
left join {coverage_sql()} cov on cov.currency = c.currency
where cov.first_date is null or c._day < cov.first_date"""


class IngestionInvariantError(RuntimeError):
    """An internal error: the ingestion broke one of its own invariants (a bug, not a user
    problem), e.g. landed rows != accepted + quarantined for a file."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _loc(struct: str) -> str:
    return f"{struct}.f || ':' || cast({struct}.l as varchar)"


def derivation_statements(source: str, relation: str | None = None,
                          fx: FxRule | None = None,
                          branches: list[tuple[str, frozenset[str]]] | None = None) -> list[str]:
    """The SQL statements (in order) that classify the rows: the typed rows with their
    row-rule reasons, and the temp tables of the other rules' reasons.

    ``relation`` (default: every landed row of the source, with its rowid as ``_rid``) is
    what gets classified; an incremental derive passes the rows of its scope, typed into
    temp table ``_ingest_cls``. Every landed row (a full derive) is typed straight into
    ``raw.<source>``, which :func:`publish_statements` then trims to the accepted rows and
    the contract's columns: one write of the rows instead of a temp copy and a second
    write (at 10 million events ~12 s instead of ~16 s, back to back). ``fx`` enables rule
    1b on money sources (without it, no row is judged on its rate). ``branches`` (a full
    derive; ``kept.typed_branches``) are the parts of the landed view, each typed on its
    own so that a kept Parquet file's timestamps and dates are taken as they are: the same
    rows as typing the view's text.
    """
    src = SOURCES[source]
    landed = landed_table(source)
    passed = ("_read_error", "_rid")
    if relation is None:
        cls = raw_table(source)
        create = f"create or replace table {cls} as"
        parts = branches or [(f"select * from {landed}", frozenset())]
        typed = "\nunion all\n".join(
            f"({typed_select_sql(source, f'({sql}) as l', passed, native)})"
            for sql, native in parts)
    else:
        cls = _CLS
        create = f"create or replace temp table {cls} as"
        typed = typed_select_sql(source, relation, extra_columns=passed)
    stmts = [f"{create}\n{typed}", _fx_statement(source, fx, cls)]
    # Rule 1b's rows are left out where it can have any (a money source judged on its rates).
    by_rate = (f" and _rid not in (select _rid from {_FX})"
               if src.fx_date is not None and fx is not None else "")
    passing = f"select * from {cls} where _read_error is null and _reason is null{by_rate}"

    keys = list(src.key)
    if keys and src.on_conflict == "quarantine":
        k = ", ".join(_q(c) for c in keys)
        content_parts = []
        for col in src.columns:
            expr = _q(col.name)
            if col.type == "json":  # formatting differences are not content differences
                expr = f"case when json_valid({expr}) then json({expr})::varchar else {expr} end"
            content_parts.append(f"{_q(col.name)} := {expr}")
        content = "struct_pack(" + ", ".join(content_parts) + ")"
        key_names = ", ".join(keys)
        loc = "struct_pack(f := _file, l := _line)"
        # The keys held by more than one row first, as a table of their own: usually none,
        # and then the rest costs nothing. The rows are grouped by their key's hash first
        # (8 bytes a row instead of the key's text: at 100 million events the text
        # aggregate, inside the transaction that had just written them, ran out of a 1.5 GB
        # memory limit in one run of two, and took ~12 s against ~10 s); only the rows of a
        # hash held more than once are then grouped by the key itself, which is exact. (As
        # a CTE next to a second reference to the passing rows, DuckDB materialised a copy
        # of every passing row first.) The hashes are grouped in _DUP_SLICES slices of the
        # hash space, one aggregate each: one aggregate of 10 million distinct hashes took
        # ~0.9 s in most runs but ~2.5-3 s in one of three (DuckDB's radix table switching
        # modes on 2 threads), the slices ~1.0 s every time, for three more reads of the key.
        p_k = ", ".join("p." + _q(c) for c in keys)
        slices = "\n    union all\n    ".join(
            f"(select hash({k}) as _h from ({passing}) q where hash({k}) % {_DUP_SLICES} = {i} "
            "group by _h having count(*) > 1)" for i in range(_DUP_SLICES))
        stmts.append(
            f"create or replace temp table {_DUP_KEYS} as\n"
            f"select {k} from ({passing}) p\n"
            f"semi join (\n    {slices}\n) d on hash({p_k}) = d._h\n"
            f"group by {k} having count(*) > 1"
        )
        stmts.append(
            f"""create or replace temp table {_DUP} as
with d as (select p._rid, p._file, p._line, {", ".join("p." + _q(c) for c in keys)}, {content} as _c
      from ({passing}) p semi join {_DUP_KEYS} using ({k})),
ck as (select {k} from d group by {k} having count(distinct _c) > 1),
c1 as (
    select d.*, first_value(_c) over w as _c1, first_value({loc}) over w as _loc1
    from d semi join ck using ({k})
    window w as (partition by {k} order by _file, _line
                 rows between unbounded preceding and unbounded following)
),
c2 as (
    select *, min(case when _c is distinct from _c1 then {loc} end)
                  over (partition by {k}) as _loc_diff
    from c1
)
select _rid,
       'duplicate {key_names} with different content (also in '
       || case when _c is distinct from _c1 then {_loc("_loc1")} else {_loc("_loc_diff")} end
       || ')' as reason
from c2"""
        )
    else:
        stmts.append(f"create or replace temp table {_DUP} as select null::bigint as _rid, "
                     "null::varchar as reason where false")

    if source in OWNERSHIP:
        owned, owner = (_q(c) for c in OWNERSHIP[source])
        owned_name, owner_name = OWNERSHIP[source]
        stmts.append(
            f"""create or replace temp table {_OWNER} as
with kept as materialized (
    -- The kept rows' columns this rule reads, once.
    select p._rid, p._file, p._line, p.{owned}, p.{owner}
    from ({passing}) p anti join {_DUP} d using (_rid)
),
-- Only an id whose rows name more than one owner can break the rule (usually none), and
-- finding those is one plain hash aggregate: at a million subscriptions the rule takes
-- ~1.4 s instead of ~2.8 s for the first row of every id.
contested as (
    select {owned} from kept group by {owned} having min({owner}) <> max({owner})
),
o as (
    -- The first row in file order: (file, line) is unique among the rows that were read,
    -- so the smallest (file, line, owner) is that row's. (Faster than arg_min over
    -- structs.)
    select {owned}, min(struct_pack(f := _file, l := _line, c := {owner})) as first
    from kept semi join contested using ({owned}) group by {owned}
)
select s._rid,
       'the {owned_name} of this row belongs to another {owner_name} (first seen in '
       || {_loc("o.first")} || ')' as reason
from kept s join o using ({owned})
where s.{owner} <> o.first.c"""
        )
    else:
        stmts.append(f"create or replace temp table {_OWNER} as select null::bigint as _rid, "
                     "null::varchar as reason where false")

    stmts.append(
        f"""create or replace temp table {_REASON} as
select _rid, coalesce(_read_error, _reason) as reason from {cls}
where _read_error is not null or _reason is not null
union all select _rid, reason from {_FX}
union all select _rid, reason from {_DUP}
union all select _rid, reason from {_OWNER}"""
    )
    return stmts


def raw_record_sql(source: str, alias: str = "l") -> str:
    """JSON text of a landed row (null members dropped), for ops.quarantine.raw_record."""
    parts = [f"{quote_literal(c)}, {alias}.{_q(c)}" for c in SOURCES[source].column_names]
    parts.append(f"'_extra', try_cast({alias}._extra as json)")
    parts.append(f"'_raw_line', {alias}._raw_line")
    obj = "json_object(" + ", ".join(parts) + ")"
    return f"nullif(json_merge_patch('{{}}', {obj})::varchar, '{{}}')"


def publish_statements(source: str) -> list[str]:
    """Statements that turn the classified rows of a full derive (``raw.<source>`` as
    :func:`derivation_statements` leaves it) into the accepted rows with exactly the
    contract's columns, and rebuild the source's quarantine rows and log counts."""
    raw = raw_table(source)
    lit = quote_literal(source)
    return [
        f"delete from ops.quarantine where source = {lit}",
        f"""insert into ops.quarantine
select {lit}, l._file, l._line, r.reason, {raw_record_sql(source)}
from {_REASON} r join {landed_table(source)} l using (_rid)
order by l._file, l._line""",
        f"update ops.ingestion_log set accepted_rows = 0, quarantined_rows = 0 where source = {lit}",
        f"""update ops.ingestion_log g
set accepted_rows = c.n - c.q, quarantined_rows = c.q
from (
    select c._file, count(*) as n, count(r._rid) as q
    from {raw} c left join {_REASON} r using (_rid)
    group by c._file
) c
where g.source = {lit} and g.file = c._file""",
        # Deleting marks rows, dropping a column drops its segments: neither rewrites the
        # accepted rows. The typed casts gave exactly the types of create_typed_table_sql,
        # and the lineage columns come last but for these three: check_raw_schema verifies.
        f"delete from {raw} where _rid in (select _rid from {_REASON})",
        f"alter table {raw} drop column _read_error",
        f"alter table {raw} drop column _rid",
        f"alter table {raw} drop column _reason",
    ]


def derivation_fingerprint(source: str, fx: FxRule | None = None) -> str:
    """Changes whenever the SQL of the derivation changes (new contract, new rules, another
    reporting currency or time zone) or, for a money source, the rates' coverage."""
    coverage = fx.coverage if fx is not None and SOURCES[source].fx_date else ""
    # The typing of kept files' native values (kept.typed_branches) is part of it too.
    native = frozenset(c.name for c in SOURCES[source].columns if c.type in NATIVE_TYPES)
    text = "\n;\n".join([DERIVATION_VERSION, *derivation_statements(source, fx=fx),
                         typed_select_sql(source, "l", native=native),
                         *publish_statements(source), coverage])
    return "derived:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def current_fingerprint(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    value = scalar(
        con,
        "select comment from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = ?",
        [source],
    )
    return str(value) if value is not None else None


def derive(con: duckdb.DuckDBPyConnection, source: str, fx: FxRule | None = None) -> None:
    """Rebuild raw.<source>, its ops.quarantine rows and ops.ingestion_log counts
    (inside the caller's transaction), then check the invariants.

    No statement here depends on the order of rows (rows are named by rowid, file and
    line; orders are explicit), so DuckDB may write them in any order: with
    ``preserve_insertion_order`` on, typing 100 million landed events into raw under a
    1.5 GB memory limit ran out of memory in one L benchmark run of two (DuckDB's own advice
    for writing data larger than memory). The setting is restored afterwards: the readers
    number lines in the order rows arrive, which needs it on."""
    before = scalar(con, "select current_setting('preserve_insertion_order')")
    con.execute("set preserve_insertion_order = false")
    try:
        for stmt in derivation_statements(source, fx=fx,
                                          branches=kept.typed_branches(con, source)):
            con.execute(stmt)
        for stmt in publish_statements(source):
            con.execute(stmt)
    finally:
        # In a transaction that failed DuckDB refuses this until the caller rolls back;
        # ingest_source sets it again before it reads any file.
        with contextlib.suppress(duckdb.Error):
            con.execute(f"set preserve_insertion_order = {'true' if before else 'false'}")
    fingerprint = derivation_fingerprint(source, fx)
    con.execute(f"comment on table {raw_table(source)} is {quote_literal(fingerprint)}")
    # On an error the caller rolls back, which also drops these temp tables.
    _drop_temp_tables(con)
    check_raw_schema(con, source)
    check_invariants(con, source)


def _drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in _TEMP_TABLES:
        con.execute(f"drop table if exists temp.{table}")


def can_derive_incrementally(source: str) -> bool:
    """Every source but those with an ownership rule (decided by a group's first row in
    file order, which a new file sorting earlier can change for the whole group)."""
    return source not in OWNERSHIP


def _key_compared(source: str) -> bool:
    src = SOURCES[source]
    return bool(src.key) and src.on_conflict == "quarantine"


def scope_statements(source: str, new_files: list[str]) -> list[str]:
    """Statements that fill temp table ``_ingest_scope`` with the landed rows (text, with
    ``_rid``) an incremental derive re-classifies: the rows of ``new_files`` (also in temp
    table ``_ingest_new_files``) and, when rule 2 applies, every earlier row that passed
    rules 0 and 1 with a key that a new row carries, so that each such key group is
    complete. The new files are named in the SQL as a list of literals: DuckDB then reads
    only their kept Parquet files (through a subquery it read all of them: at 10 million
    events ~1.2 s of a nightly run instead of ~0.05 s).

    Those earlier rows are found through their typed keys in raw.<source> (accepted) and
    through ops.quarantine (a quarantined row may have lost to rule 2), then fetched from
    landed by (file, line): the text of the whole landed table is never parsed again.
    Extra rows are harmless (a row that failed rules 0-1 is classified on its own)."""
    src = SOURCES[source]
    landed = landed_table(source)
    listed = ", ".join(quote_literal(f) for f in new_files) or "NULL"
    new_rows = f"_file in ({listed})"
    if not _key_compared(source):
        return [(f"create or replace temp table {_SCOPE} as "
                 f"select * from {landed} where {new_rows}")]
    keys = [src.column(k) for k in src.key]
    # Keys are named _k0, _k1... so that the contract column names (unqualified in
    # typed_expression) always mean the landed row's columns.
    typed = ", ".join(f"{typed_expression(c)} as _k{i}" for i, c in enumerate(keys))
    not_null = " and ".join(f"_k{i} is not null" for i in range(len(keys)))
    on_raw = " and ".join(f"k._k{i} = r.{_q(c.name)}" for i, c in enumerate(keys))
    on_typed = " and ".join(f"k._k{i} = c._k{i}" for i in range(len(keys)))
    k_names = ", ".join(f"_k{i}" for i in range(len(keys)))
    lit = quote_literal(source)
    return [
        (f"create or replace temp table _ingest_keys as select distinct * from ("
         f"select {typed} from {landed} where {new_rows}) where {not_null}"),
        f"""create or replace temp table _ingest_old as
select r._file, r._line from {raw_table(source)} r semi join _ingest_keys k on {on_raw}
union
select file, line from ops.quarantine where source = {lit} and line is not null""",
        f"""create or replace temp table _ingest_candidates as
select l.* from {landed} l
semi join _ingest_old o on l._file = o._file and l._line = o._line
where not coalesce(l.{new_rows}, false)""",
        f"""create or replace temp table {_SCOPE} as
select * from {landed} where {new_rows}
union all
select * exclude ({k_names}) from (select *, {typed} from _ingest_candidates) c
semi join _ingest_keys k on {on_typed}""",
        "drop table if exists temp._ingest_keys",
        "drop table if exists temp._ingest_old",
        "drop table if exists temp._ingest_candidates",
    ]


def incremental_publish_statements(source: str) -> list[str]:
    """Replace the scope's rows in raw.<source> and ops.quarantine by their new
    classification and recount the log rows of every file the scope touches."""
    src = SOURCES[source]
    raw = raw_table(source)
    cols = ", ".join(_q(c) for c in (*src.column_names, *LINEAGE_COLUMNS))
    lit = quote_literal(source)
    return [
        # The files whose counts are set again: those with re-classified rows, and every
        # new file, even one without rows (empty or header only: its counts are 0, not NULL).
        (f"create or replace temp table {_FILES} as select distinct _file as file from {_CLS} "
        f"union select file from {_NEW}"),
        # Rows of new files are not in raw or quarantine yet, unless an earlier run died
        # after loading them (its derive rolled back): drop whatever is there.
        f"delete from {raw} where _file in (select file from {_NEW})",
        f"""delete from {raw} using (select _file, _line from {_CLS}) c
where {raw}._file = c._file and {raw}._line = c._line""",
        f"insert into {raw} select {cols} from {_CLS} anti join {_REASON} using (_rid)",
        f"""delete from ops.quarantine where source = {lit} and (file in (select file from {_NEW})
   or exists (select 1 from {_CLS} c where c._file = ops.quarantine.file
                                       and c._line = ops.quarantine.line))""",
        f"""insert into ops.quarantine
select {lit}, l._file, l._line, r.reason, {raw_record_sql(source)}
from {_REASON} r join {_SCOPE} l using (_rid)
order by l._file, l._line""",
        f"""update ops.ingestion_log g
set accepted_rows = coalesce((select count(*) from {raw} r where r._file = g.file), 0),
    quarantined_rows = coalesce((select count(*) from ops.quarantine q
                                 where q.source = {lit} and q.file = g.file), 0)
where g.source = {lit} and g.file in (select file from {_FILES})""",
    ]


def derive_incremental(con: duckdb.DuckDBPyConnection, source: str,
                       new_files: list[str], fx: FxRule | None = None) -> list[str]:
    """Derive only what ``new_files`` (logged, not yet derived) can change, inside the
    caller's transaction; returns the files whose rows were re-classified (the new ones
    and older ones sharing a key with them). Leaves temp table ``_ingest_cls`` (the
    re-classified rows, typed) for the caller, who drops it with ``drop_temp_tables``."""
    if not can_derive_incrementally(source):
        raise ValueError(f"{source} cannot be derived incrementally")
    con.execute(f"create or replace temp table {_NEW} (file varchar)")
    if new_files:
        con.executemany(f"insert into {_NEW} values (?)", [[f] for f in new_files])
    for stmt in scope_statements(source, new_files):
        con.execute(stmt)
    for stmt in derivation_statements(source, relation=f"{_SCOPE} as l", fx=fx):
        con.execute(stmt)
    for stmt in incremental_publish_statements(source):
        con.execute(stmt)
    files = [str(r[0]) for r in con.execute(f"select file from {_FILES} order by file").fetchall()]
    check_invariants(con, source, files=files)
    return files


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    _drop_temp_tables(con)


def expected_raw_schema(source: str) -> list[tuple[str, str]]:
    src = SOURCES[source]
    return [(c.name, c.sql_type) for c in src.columns] + [
        ("_file", "VARCHAR"), ("_line", "BIGINT"), ("_ingested_at", "TIMESTAMP")
    ]


def check_raw_schema(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """raw.<source> must have exactly the columns of ``create_typed_table_sql``."""
    actual = [
        (str(r[0]), str(r[1]))
        for r in con.execute(f"describe {raw_table(source)}").fetchall()
    ]
    expected = expected_raw_schema(source)
    if actual != expected:
        raise IngestionInvariantError(
            f"raw.{source} has columns {actual}, expected {expected} (create_typed_table_sql)"
        )


def check_invariants(con: duckdb.DuckDBPyConnection, source: str,
                     files: list[str] | None = None) -> None:
    """Raise :class:`IngestionInvariantError` unless, for every file of the source (or
    only ``files``), ops.ingestion_log says landed = accepted + quarantined and those
    counts are the rows of the file in landed.<source>, raw.<source> and ops.quarantine,
    and every landed file has exactly one log row."""
    lit = quote_literal(source)
    if files is not None and not files:
        return
    only = "" if files is None else " and {col} in (" + ", ".join(
        quote_literal(f) for f in files) + ")"
    rows = con.execute(
        f"""
with lg as (
    select file, count(*) as n_log, any_value(landed_rows) as landed_rows,
           any_value(accepted_rows) as accepted_rows, any_value(quarantined_rows) as quarantined_rows
    from ops.ingestion_log where source = {lit}{only.format(col="file")} group by file
),
ld as (select _file as file, count(*) as n from {landed_table(source)}
       where true{only.format(col="_file")} group by 1),
rw as (select _file as file, count(*) as n from {raw_table(source)}
       where true{only.format(col="_file")} group by 1),
qu as (select file, count(*) as n from ops.quarantine
       where source = {lit}{only.format(col="file")} group by 1),
files as (select file from lg union select file from ld union select file from rw
          union select file from qu)
select f.file, lg.n_log, lg.landed_rows, lg.accepted_rows, lg.quarantined_rows,
       coalesce(ld.n, 0), coalesce(rw.n, 0), coalesce(qu.n, 0)
from files f
left join lg on lg.file = f.file
left join ld on ld.file = f.file
left join rw on rw.file = f.file
left join qu on qu.file = f.file
where lg.n_log is distinct from 1
   or lg.landed_rows is distinct from coalesce(ld.n, 0)
   or lg.accepted_rows is distinct from coalesce(rw.n, 0)
   or lg.quarantined_rows is distinct from coalesce(qu.n, 0)
   or lg.landed_rows <> lg.accepted_rows + lg.quarantined_rows
order by f.file
limit 5"""
    ).fetchall()
    if rows:
        details = "; ".join(
            f"{r[0]}: log rows={r[1]} landed/accepted/quarantined in log={r[2]}/{r[3]}/{r[4]}, "
            f"in tables={r[5]}/{r[6]}/{r[7]}"
            for r in rows
        )
        raise IngestionInvariantError(
            f"ingestion of {source} broke landed = accepted + quarantined: {details}"
        )
