"""A landed timestamp's typed value: the fast strptime path of contract.typed_expression
gives exactly what DuckDB's timestamptz parse gives (offsets and zone names converted to
UTC), and leaves every other text to that parse."""

from __future__ import annotations

import random
from datetime import datetime

import duckdb

from dagster_project.contract import (
    NATIVE_TYPES,
    Column,
    plain_timestamp_guard,
    reads_natively,
    typed_expression,
)

SHAPES = [
    "2024-01-01 00:16:29", "2024-1-1 1:2:3", "2024-01-01T00:16:29", "2024-01-01T00:16:29Z",
    "2024-01-01 00:16:29+02", "2024-01-01 00:16:29+05:30", "2024-01-01T00:16:29-0530",
    "2024-01-01 00:16:29 UTC", "2024-01-01 00:16:29 America/New_York", "2024-01-01 00:16:29 CET",
    "2024-01-01 00:16:29.5", "2024-01-01 00:16:29.1234567", "2024-01-01", "2024-01-01 00:16",
    "2024-01-01 24:00:00", "2024-01-01 23:59:60", "2024-02-29 12:00:00", "2023-02-29 12:00:00",
    "0001-01-01 00:00:00", "9999-12-31 23:59:59", "12024-01-01 00:00:00", "-2024-01-01 00:00:00",
    "2024-01-01  00:16:29", "2024-01-01 00:16:29 BC", "2024-001-01 00:16:29", "24-01-01 00:16:29",
    "epoch", "infinity", "-infinity", "now", "2024-01-01 00:16:29 +02:00", "1969-12-31 23:59:59",
    "0epoch", "1infinity", "9 2024-01-01 00:00:00",
]


def _values() -> list[str]:
    """The shapes, and 30,000 mutations of them (a character changed, added or dropped)."""
    rnd = random.Random(15)
    values = list(SHAPES)
    for _ in range(30_000):
        chars = list(rnd.choice(SHAPES))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(chars) + 1)
            op = rnd.random()
            if op < 0.4 and chars:
                chars[min(at, len(chars) - 1)] = rnd.choice("0123456789-: TZ+.aB")
            elif op < 0.7:
                chars.insert(at, rnd.choice("0123456789-: TZ+.aB"))
            elif chars:
                del chars[min(at, len(chars) - 1)]
        values.append("".join(chars))
    return values


def test_timestamps_parse_as_the_timestamptz_parse_does() -> None:
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    con.execute("create table landed as select unnest(?::varchar[]) as occurred_at", [_values()])
    typed = typed_expression(Column("occurred_at", "timestamp"))
    assert "try_strptime" in typed  # the fast path is what is compared
    differ, fast, total = con.execute(
        f"""select count(*) filter (where t is distinct from s), count(*) filter (where f),
                   count(*)
            from (select {typed} as t,
                         cast(timezone('UTC', try_cast(nullif(trim(occurred_at), '') as timestamptz))
                              as timestamp) as s,
                         ascii(occurred_at) between 48 and 57
                         and try_strptime(nullif(trim(occurred_at), ''),
                                          ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S'])
                             is not null as f
                  from landed)""").fetchone()
    assert differ == 0
    assert fast > 1000 and total > 30_000  # the fast path was taken, and not for everything
    # The guard that keeps strptime off text with an offset or a fraction never turns away
    # text starting with a digit that strptime parses (the fast path is taken as before),
    # and turns away those shapes (and 'epoch', which strptime misreads).
    guard = plain_timestamp_guard("nullif(trim(occurred_at), '')")
    lost, guarded = con.execute(
        f"""select count(*) filter (where not coalesce({guard}, false)
                                    and ascii(nullif(trim(occurred_at), '')) between 48 and 57
                                    and try_strptime(nullif(trim(occurred_at), ''),
                                        ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']) is not null),
                   count(*) filter (where not coalesce({guard}, false))
            from landed""").fetchone()
    assert lost == 0 and guarded > 10_000
    turned_away = {v for (v,) in con.execute(
        f"select occurred_at from landed where not coalesce({guard}, false)").fetchall()}
    assert {"2024-01-01T00:16:29Z", "2024-01-01 00:16:29+05:30", "2024-01-01T00:16:29-0530",
            "2024-01-01 00:16:29.5", "epoch"} <= turned_away
    assert "2024-01-01T00:16:29" not in turned_away
    at = dict(con.execute(f"select occurred_at, {typed} from landed").fetchall())
    assert at["2024-01-01T00:16:29-0530"] == datetime(2024, 1, 1, 5, 46, 29)
    assert at["2024-01-01 00:16:29 America/New_York"] == datetime(2024, 1, 1, 5, 16, 29)
    assert at["2024-1-1 1:2:3"] == datetime(2024, 1, 1, 1, 2, 3)
    assert at["2024-01-01 24:00:00"] == datetime(2024, 1, 2)
    assert at["2023-02-29 12:00:00"] is None
    assert at["epoch"] == datetime(1970, 1, 1)  # strptime alone gives 1900-01-01


def test_native_values_are_what_their_text_would_be_typed_as() -> None:
    """A kept Parquet file's TIMESTAMP and DATE values are taken as they are
    (contract.NATIVE_TYPES): for every value of those types (both ends of the range,
    infinities, years before 1000 and after 9999, BC, fractions, 200,000 random instants)
    typing DuckDB's text of the value gives the value itself, and the rules see a missing
    value where the text would be missing."""
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    con.execute("""create table t as select * from (values
        (timestamp '0001-01-01 00:00:00'), (timestamp '0999-12-31 23:59:59.999999'),
        (timestamp '9999-12-31 23:59:59.999999'), (timestamp '2024-01-01 00:00:00.5'),
        (timestamp '2024-02-29 12:00:00.000001'), (timestamp '1970-01-01'),
        (timestamp '10000-01-01'), (timestamp 'infinity'), (timestamp '-infinity'),
        (timestamp '0044-03-15 (BC)'), (timestamp '294246-12-31 23:59:59'), (null)) v(x)
        union all select timestamp '0001-01-01' + to_microseconds(
            cast(random() * 315537897599999999 as bigint)) from range(200000)""")
    con.execute("create table d as select cast(x as date) as x from t")
    for kind, table in (("timestamp", "t"), ("date", "d")):
        col = Column("x", kind, required=True)
        assert reads_natively(col, NATIVE_TYPES[kind])
        assert not reads_natively(col, "VARCHAR")
        text, native = typed_expression(col), typed_expression(col, native=True)
        assert "x" in native and "varchar" not in native.lower()
        differ, nulls, total = con.execute(
            f"select count(*) filter (where {text} is distinct from {native} "
            f"or {native} is distinct from x), count(*) filter (where {native} is null), "
            f"count(*) from {table}").fetchone()
        assert (differ, nulls, total) == (0, 1, 200_012), kind
    assert not reads_natively(Column("x", "timestamp"), "TIMESTAMP_NS")
    assert not reads_natively(Column("x", "text"), "VARCHAR")
