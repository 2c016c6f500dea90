"""The landing contract as data (rendered for users as docs/LANDING.md by landing_doc.py).

One place says, per source, which columns exist, which are required, their types,
enums, defaults and row-level rules. Ingestion, the demo generator, the staging
models' documentation and the tests all read it from here.

Typed raw tables (``raw.<source>`` in the working warehouse) hold the columns listed
here, in this order, with these SQL types, followed by the lineage columns
``_file`` (path relative to the landing dir), ``_line`` (1-based line of the row in its
file: the header is line 1 in CSV; the row number in Parquet), ``_ingested_at``.
Timestamps are naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Logical type -> SQL type of the typed raw column.
SQL_TYPES = {
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "currency": "VARCHAR",
    "json": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "money": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}

TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
LINEAGE_COLUMNS = ("_file", "_line", "_ingested_at")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"
    required: bool = False
    default: str | None = None  # SQL literal used when the value is missing
    enum: tuple[str, ...] = ()
    non_negative: bool = False
    personal: bool = False  # never reaches anything downstream of staging

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    """A rule over the typed row: ``broken`` is a SQL condition true when it is broken.

    The reason names the column and the rule, never the landed value: quarantine reasons
    are published (``ops.quarantine``) and logged, and a bad value may be personal data (an
    e-mail typed into a date column, a phone number in a score). The raw record stays in
    the working warehouse's quarantine for the people allowed there."""

    broken: str
    reason: str  # SQL expression: a string literal, or a concat of literals and enum values


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # identity for deduplication; () = never deduplicated
    # "quarantine": rows sharing a key with different content are all quarantined;
    # "last_wins": a later landed row updates the earlier one (customers).
    on_conflict: str = "quarantine"
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    description: str = ""
    # Money sources: the column whose day (in the reporting time zone) picks the exchange
    # rate; a row whose currency has no rate on or before that day is quarantined.
    fx_date: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str = "text", **kw: object) -> Column:
    return Column(name, type_, **kw)  # type: ignore[arg-type]


REVENUE_TYPES = ("subscription", "usage", "services", "one_time", "other")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "customers",
            (
                _c("customer_id", required=True),
                _c("created_at", "timestamp", required=True),
                _c("name"),
                _c("segment"),
                _c("region"),
                _c("country"),
                _c("acquisition_channel"),
                _c("sales_rep_id"),
            ),
            key=("customer_id",),
            on_conflict="last_wins",
            description="The paying accounts; the last landed row of an id gives its attributes.",
        ),
        Source(
            "users",
            (
                _c("user_id", required=True),
                _c("customer_id"),
                _c("signed_up_at", "timestamp", required=True),
                _c("acquisition_channel"),
                _c("email", personal=True),
            ),
            key=("user_id",),
            description="People who signed up; email is personal data.",
        ),
        Source(
            "product_events",
            (
                _c("event_id", required=True),
                _c("event_name", required=True),
                _c("occurred_at", "timestamp", required=True),
                _c("user_id"),
                _c("anonymous_id"),
                _c("properties", "json"),
            ),
            key=("event_id",),
            rules=(
                RowRule(
                    "user_id is null and anonymous_id is null",
                    "'missing required value: one of user_id or anonymous_id'",
                ),
            ),
            description="Product usage events; may arrive days late.",
        ),
        Source(
            "subscription_events",
            (
                _c("event_id", required=True),
                _c("subscription_id", required=True),
                _c("customer_id", required=True),
                _c("event_type", "enum", required=True, enum=("created", "changed", "canceled")),
                _c("effective_at", "timestamp", required=True),
                _c("occurred_at", "timestamp"),
                _c("plan_id"),
                _c("billing_period", "enum", default="'month'", enum=("month", "quarter", "year")),
                _c("unit_amount", "money", non_negative=True),
                _c("quantity", "int", default="1", non_negative=True),
                _c("discount_amount", "money", default="0", non_negative=True),
                _c("currency", "currency", required=True),
            ),
            key=("event_id",),
            rules=(
                RowRule(
                    "event_type in ('created', 'changed') and unit_amount is null",
                    "'missing required value in column unit_amount (required on '"
                    " || event_type || ' events)'",
                ),
            ),
            fx_date="effective_at",
            description="Each event sets a subscription's whole state from effective_at on.",
        ),
        Source(
            "invoices",
            (
                _c("invoice_id", required=True),
                _c("customer_id", required=True),
                _c("issued_at", "timestamp", required=True),
                _c("amount", "money", required=True, non_negative=True),
                _c("currency", "currency", required=True),
                _c("revenue_type", "enum", default="'subscription'", enum=REVENUE_TYPES),
                _c("status", "enum", default="'paid'", enum=("paid", "open", "void", "refunded")),
                _c("product"),
            ),
            key=("invoice_id",),
            fx_date="issued_at",
            description="Invoices; paid ones are recognised revenue in the month issued.",
        ),
        Source(
            "bookings",
            (
                _c("booking_id", required=True),
                _c("customer_id", required=True),
                _c("booked_at", "timestamp", required=True),
                _c("contract_months", "int", required=True, non_negative=True),
                _c("total_contract_value", "money", required=True, non_negative=True),
                _c("currency", "currency", required=True),
                _c("sales_rep_id"),
                _c("product"),
                _c("revenue_type", "enum", enum=REVENUE_TYPES),
                _c("is_new_business", "bool"),
            ),
            key=("booking_id",),
            rules=(
                RowRule(
                    "contract_months = 0",
                    "'contract_months must be at least 1'",
                ),
            ),
            fx_date="booked_at",
            description="Signed contracts (orders).",
        ),
        Source(
            "marketing_spend",
            (
                _c("spend_date", "date", required=True),
                _c("channel", required=True),
                _c("amount", "money", required=True, non_negative=True),
                _c("currency", "currency", required=True),
                _c("cost_type", "enum", default="'marketing'", enum=("marketing", "sales")),
                _c(
                    "motion",
                    "enum",
                    default="'new_business'",
                    enum=("new_business", "expansion", "brand"),
                ),
            ),
            key=(),
            on_conflict="none",
            fx_date="spend_date",
            description="Sales and marketing cost; rows have no id and are never deduplicated.",
        ),
        Source(
            "leads",
            (
                _c("lead_id", required=True),
                _c("created_at", "timestamp", required=True),
                _c("channel"),
                _c("is_qualified", "bool", default="true"),
                _c("customer_id"),
                _c("converted_at", "timestamp"),
            ),
            key=("lead_id",),
            description="Leads; a converted lead names its customer.",
        ),
        Source(
            "survey_responses",
            (
                _c("response_id", required=True),
                _c("survey", "enum", required=True, enum=("nps", "csat")),
                _c("responded_at", "timestamp", required=True),
                _c("score", "int", required=True),
                _c("customer_id"),
                _c("user_id"),
                _c("comment", personal=True),
            ),
            key=("response_id",),
            rules=(
                RowRule(
                    "survey = 'nps' and (score < 0 or score > 10)",
                    "'score out of range for nps (0-10) in column score'",
                ),
                RowRule(
                    "survey = 'csat' and (score < 1 or score > 5)",
                    "'score out of range for csat (1-5) in column score'",
                ),
            ),
            description="NPS and CSAT answers; comment is free text and may hold personal data.",
        ),
        Source(
            "releases",
            (
                _c("release_id", required=True),
                _c("name", required=True),
                _c("planned_at", "timestamp"),
                _c("released_at", "timestamp"),
                _c("product"),
                _c("kind", "enum", enum=("feature", "product")),
            ),
            key=("release_id",),
            description="Delivery of the product roadmap.",
        ),
        Source(
            "fx_rates",
            (
                _c("rate_date", "date", required=True),
                _c("currency", "currency", required=True),
                _c("rate_to_reporting", "money"),
                _c("base_currency", "currency"),
                _c("rate", "money"),
            ),
            key=("rate_date", "currency"),
            rules=(
                RowRule(
                    "rate is null and rate_to_reporting is null",
                    "'missing required value in column rate'",
                ),
                RowRule(
                    "rate is not null and rate_to_reporting is not null",
                    "'rate and rate_to_reporting both given (rate_to_reporting is the older "
                    "name of rate: give one)'",
                ),
                RowRule(
                    "rate is not null and base_currency is null",
                    "'missing required value in column base_currency (required with rate)'",
                ),
                RowRule(
                    "coalesce(rate, rate_to_reporting) <= 0",
                    "'the rate must be positive'",
                ),
            ),
            description="Exchange rates in one base currency per date: one unit of currency "
            "is worth rate units of base_currency from rate_date on. They win over the shipped "
            "seeds/fx_rates.csv; every rate to the reporting currency is derived from them.",
        ),
    ]
}


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Timestamps without an offset, parsed by strptime before the general timestamptz parse.
PLAIN_TIMESTAMP_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']"


def plain_timestamp_guard(v: str) -> str:
    """SQL: text that strptime with PLAIN_TIMESTAMP_FORMATS might parse. It starts with a
    digit (strptime reads 'epoch' and 'infinity' as 1900-01-01) and, when longer than the
    19 bytes of '2024-01-05 15:59:40', has no offset or fraction: no '+', 'Z', '.' and at
    most two '-' (an offset '-05:00' is the third), none of which those formats can match.
    A failed strptime costs ~0.8 us a format, four times the timestamptz parse that then
    reads the text anyway: for the common ISO text with an offset
    ('2024-01-05T15:59:40+01:00') the guard makes the typed value ~6x cheaper. The length
    (stored with the text) comes first, so the plain shape pays no scan for the marks
    (~7% more than with no guard, against ~30% for scanning every value)."""
    return (f"ascii({v}) between 48 and 57 and (strlen({v}) <= 19 or not ({v} like '%+%' "
            f"or {v} like '%-%-%-%' or {v} like '%.%' or {v} like '%Z%' or {v} like '%z%'))")


# Contract types whose typed value is exactly the value of a column of this DuckDB type
# (a kept Parquet file's column): DuckDB's text of such a value, typed by typed_expression,
# gives the value back, for every value of the type (tests/unit/test_contract_parsing.py).
# The derive of a source then reads those columns as they are, instead of writing their
# text and parsing it (10 million events: ~0.9 s of ~5.4 s for their raw table).
NATIVE_TYPES = {"timestamp": "TIMESTAMP", "date": "DATE"}


def reads_natively(col: Column, sql_type: str) -> bool:
    """Is a value of DuckDB type ``sql_type`` this column's typed value as it is?"""
    return NATIVE_TYPES.get(col.type) == sql_type.strip().upper()


def _value(col: Column, native: bool = False, trimmed: bool = False) -> str:
    """The trimmed text value of a column; empty text is missing. A ``native`` column
    (``reads_natively``) holds its typed value: missing is NULL, as its text would be.
    ``trimmed``: the column already holds the trimmed text (``typed_select_sql``)."""
    if native or trimmed:
        return f'"{col.name}"'
    return f"nullif(trim(cast(\"{col.name}\" as varchar)), '')"


def typed_expression(col: Column, native: bool = False, trimmed: bool = False) -> str:
    """SQL turning the text column into its typed value (NULL when it cannot be parsed);
    with ``native``, the column already holds that value (``reads_natively``); with
    ``trimmed``, its trimmed text, empty text as NULL (``_value``).

    Defaults are applied here, so two rows that differ only by an omitted default
    have the same parsed content.
    """
    v = _value(col, native, trimmed)
    if native or col.type in ("text", "json"):
        expr = v
    elif col.type == "enum":
        expr = f"lower({v})"
    elif col.type == "currency":
        expr = f"upper({v})"
    elif col.type == "timestamp":
        # With the session time zone at UTC, text without an offset is taken as UTC. The
        # usual shapes without an offset or zone parse by strptime first: ~2.5x faster
        # than the timestamptz parse (which reads offsets and zone names), and the same
        # value wherever strptime parses (tests/unit/test_contract_parsing.py). Only text
        # strptime might parse (plain_timestamp_guard): a failed strptime is slow.
        expr = (f"coalesce(case when {plain_timestamp_guard(v)} then "
                f"try_strptime({v}, {PLAIN_TIMESTAMP_FORMATS}) end, "
                f"timezone('UTC', try_cast({v} as timestamptz)))")
    elif col.type == "date":
        expr = (
            f"coalesce(try_cast({v} as date), "
            f"cast(timezone('UTC', try_cast({v} as timestamptz)) as date))"
        )
    elif col.type == "money":
        expr = f"try_cast({v} as double)"
    elif col.type == "int":
        expr = (
            f"case when try_cast({v} as double) = floor(try_cast({v} as double)) "
            f"then cast(try_cast({v} as double) as bigint) end"
        )
    elif col.type == "bool":
        t = ", ".join(quote_literal(w) for w in TRUE_WORDS)
        f = ", ".join(quote_literal(w) for w in FALSE_WORDS)
        expr = f"case when lower({v}) in ({t}) then true when lower({v}) in ({f}) then false end"
    else:  # pragma: no cover - guarded by SQL_TYPES
        raise ValueError(col.type)
    if col.default is not None:
        expr = f"case when {v} is null then {col.default} else {expr} end"
    return f"cast({expr} as {col.sql_type})"


# The largest magnitude a landed number may have. Amounts are read as DOUBLE and summed
# into DECIMAL(38, 10) in the marts: up to 1e12 (a trillion, in any currency) every amount
# and every sum of millions of them stays exact to the cent, and a product with a count
# (unit_amount x quantity, at most 1e9) fits the decimal. A larger value is a typo or a
# unit error; it is quarantined here rather than failing the build later in dbt.
BOUNDS = {
    "money": ("1e12", "1,000,000,000,000"),
    "int": ("1e9", "1,000,000,000"),
}


def column_rules(col: Column, native: bool = False, trimmed: bool = False) -> list[RowRule]:
    """Row-level rules of one column, checked against the text value ``v`` and typed value
    (for a ``native`` column, its value: ``reads_natively``; ``trimmed``: as for
    ``typed_expression``)."""
    v = _value(col, native, trimmed)
    typed = typed_expression(col, native, trimmed)
    name = col.name
    rules: list[RowRule] = []
    if col.required:
        rules.append(RowRule(f"{v} is null", f"'missing required value in column {name}'"))
    if col.type not in ("text", "enum", "currency"):
        label = {
            "timestamp": "unparsable timestamp",
            "date": "unparsable date",
            "money": "unparsable number",
            "int": "unparsable integer",
            "bool": "unparsable boolean",
            "json": "invalid JSON object",
        }[col.type]
        broken = f"{v} is not null and {typed} is null"
        if col.type == "json":
            broken = (
                f"{v} is not null and (not coalesce(json_valid({v}), false) "
                f"or json_type(try_cast({v} as json)) <> 'OBJECT')"
            )
        rules.append(RowRule(broken, f"'{label} in column {name}'"))
    if col.enum:
        allowed = ", ".join(quote_literal(e) for e in col.enum)
        rules.append(
            RowRule(
                f"{v} is not null and lower({v}) not in ({allowed})",
                f"'unknown value in column {name} (allowed: {', '.join(col.enum)})'",
            )
        )
    if col.type == "currency":
        rules.append(
            RowRule(
                f"{v} is not null and not regexp_full_match(upper({v}), '[A-Z]{{3}}')",
                f"'not an ISO 4217 currency code in column {name}'",
            )
        )
    if col.non_negative:
        rules.append(
            RowRule(f"{typed} < 0", f"'negative amount in column {name}'")
        )
    if col.type in BOUNDS:
        bound, text = BOUNDS[col.type]
        rules.append(RowRule(f"abs({typed}) > {bound}",
                             f"'value out of range in column {name} (at most {text})'"))
    return rules


def typed_select_sql(source: str, relation: str, extra_columns: tuple[str, ...] = (),
                     native: frozenset[str] = frozenset()) -> str:
    """SELECT over ``relation`` (text columns named as in the contract, plus lineage and
    ``extra_columns`` passed through) giving the typed columns and ``_reason``: NULL when
    the row keeps every row-level rule, else every broken rule, joined by '; '. The
    columns named in ``native`` hold their typed values instead of text
    (``reads_natively``): the result is the same as for their text.

    Source-level rules (``Source.rules``) refer to typed column names, so they are
    evaluated in an outer query over the typed values. Each text value is trimmed once, in
    an innermost query (the typed value and the rules refer to it a dozen times: DuckDB
    computed each reference; 69 thousand invoices typed in ~0.03 s instead of ~0.05 s).
    """
    src = SOURCES[source]
    col_reasons = [
        f"case when {r.broken} then {r.reason} end"
        for c in src.columns for r in column_rules(c, c.name in native, trimmed=True)
    ]
    typed_cols = ",\n  ".join(
        f'{typed_expression(c, c.name in native, trimmed=True)} as "{c.name}"'
        for c in src.columns)
    passthrough = ", ".join(f'"{c}"' for c in (*LINEAGE_COLUMNS, *extra_columns))
    trimmed = ", ".join(f'{_value(c, c.name in native)} as "{c.name}"' for c in src.columns)
    inner = (
        f"select\n  {typed_cols},\n  {passthrough},\n"
        f"  concat_ws('; ', {', '.join(col_reasons) or 'null'}) as _col_reason\n"
        f"from (select {trimmed}, {passthrough} from {relation}) as trimmed"
    )
    src_reasons = [f"case when {r.broken} then {r.reason} end" for r in src.rules]
    outer_cols = ", ".join(f'"{c}"' for c in (*src.column_names, *LINEAGE_COLUMNS, *extra_columns))
    # Source rules only judge rows whose columns parsed; otherwise the column reason stands.
    reason = (
        f"nullif(concat_ws('; ', nullif(_col_reason, ''), "
        f"case when _col_reason = '' then concat_ws('; ', {', '.join(src_reasons)}) end), '')"
        if src_reasons
        else "nullif(_col_reason, '')"
    )
    return f"select {outer_cols}, {reason} as _reason\nfrom (\n{inner}\n) as typed"


def create_typed_table_sql(source: str, table: str) -> str:
    """DDL of an empty typed raw table for ``source``."""
    src = SOURCES[source]
    cols = [f'"{c.name}" {c.sql_type}' for c in src.columns]
    cols += ['"_file" VARCHAR', '"_line" BIGINT', '"_ingested_at" TIMESTAMP']
    return f"create table {table} (\n  " + ",\n  ".join(cols) + "\n)"
