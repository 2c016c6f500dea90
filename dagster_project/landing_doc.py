"""The landing format, documented from the contract in code: ``docs/LANDING.md``.

``python -m dagster_project.landing_doc`` rewrites it; a unit test fails when it is out of
date, so the page says what ingestion does: every source, column, type, default, allowed
value, key, and every reason a row can be quarantined for.
"""

from __future__ import annotations

import re
import sys

from dagster_project.contract import (
    BOUNDS,
    FALSE_WORDS,
    SOURCES,
    TRUE_WORDS,
    Column,
    Source,
    column_rules,
)
from dagster_project.generated_docs import markdown, write_doc
from dagster_project.ingest.derive import OWNERSHIP
from dagster_project.ingest.files import FORMATS
from dagster_project.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "LANDING.md"

TYPE_TEXT = {
    "text": "text",
    "enum": "text, one of the allowed values (any case)",
    "currency": "ISO 4217 code (any case)",
    "timestamp": "ISO 8601 timestamp; without an offset it is UTC",
    "date": "ISO 8601 date (a timestamp gives its UTC date)",
    "money": "decimal number",
    "int": "whole number",
    "bool": f"boolean ({', '.join(TRUE_WORDS)} / {', '.join(FALSE_WORDS)}, any case)",
    "json": "JSON object",
}

# Reasons the readers give (dagster_project/ingest/readers.py, engine.py): whole lines or
# files that could not be split into the contract's columns.
READER_REASONS = (
    (("malformed CSV line: <what DuckDB's reader found, e.g. too many columns (Expected "
     "Number of Columns: 5 Found: 6)>"), ("a CSV line that cannot be split into the header's "
     "columns (unterminated quote, too many or too few fields, invalid UTF-8)")),
    ("invalid JSON line", "a JSON Lines line that is not JSON"),
    ("JSON line is not an object: <array, string, ...>", ("a JSON Lines line holding another "
     "JSON value")),
    ("missing required column <column>", ("the file has no such column at all: every row of "
     "the file is quarantined")),
)


_COLUMN_RULE_WHEN = {
    "missing required value": "a required column is empty on this row",
    "unparsable timestamp": "the value is not a timestamp",
    "unparsable date": "the value is not a date",
    "unparsable number": "the value is not a number",
    "unparsable integer": "the value is not a whole number",
    "unparsable boolean": "the value is not one of the boolean words",
    "invalid JSON object": "the value is not a JSON object",
    "unknown value": "the value is not one of the column's allowed values",
    "not an ISO 4217 currency code": "the value is not three letters",
    "negative amount": "an amount or count below zero",
    "value out of range": "a number larger in magnitude than the contract's bound (amounts "
                          "1e12, counts 1e9), which the marts could not sum exactly",
}


def _reason_text(sql: str) -> str:
    """A reason's SQL (string literals joined by ``||``) as text; other parts as <expr>."""
    parts = []
    for part in re.split(r"\s*\|\|\s*", sql.strip()):
        if part.startswith("'") and part.endswith("'"):
            parts.append(part[1:-1].replace("''", "'"))
        else:
            parts.append(f"<{part.strip()}>")
    return "".join(parts)


def _column_row(col: Column) -> str:
    kind = TYPE_TEXT[col.type]
    if col.enum:
        kind = f"one of {', '.join(f'`{e}`' for e in col.enum)}"
    notes = []
    if col.default is not None:
        notes.append(f"default {col.default.strip(chr(39))}")
    if col.non_negative:
        notes.append("not negative")
    if col.type in BOUNDS:
        notes.append(f"at most {BOUNDS[col.type][1]} in magnitude")
    if col.personal:
        notes.append("personal data: kept out of every published table")
    required = "yes" if col.required else ""
    return f"| `{col.name}` | {kind} | {required} | {'; '.join(notes)} |"


def _source_section(src: Source) -> list[str]:
    lines = [f"### `{src.name}`", "", src.description, ""]
    if src.key:
        key = ", ".join(f"`{k}`" for k in src.key)
        if src.on_conflict == "last_wins":
            lines.append(f"Key {key}: a later landed row of the same key updates the earlier one.")
        else:
            lines.append(f"Key {key}: identical copies count once; copies with different "
                         "content are all quarantined.")
    else:
        lines.append("No key: rows are never deduplicated.")
    if src.fx_date:
        lines.append(f"Money: converted to the reporting currency at the rate in force on the "
                     f"day of `{src.fx_date}` (reporting time zone); a row whose currency has "
                     "no rate on or before that day is quarantined.")
    if src.name in OWNERSHIP:
        owned, owner = OWNERSHIP[src.name]
        lines.append(f"A `{owned}` belongs to the `{owner}` of its first row in file order; a "
                     f"row naming another `{owner}` is quarantined.")
    lines += ["", "| column | type | required | notes |", "|---|---|---|---|"]
    lines += [_column_row(c) for c in src.columns]
    if src.rules:
        lines += ["", "Rules across columns:", ""]
        lines += [f"- `{r.broken}`: \"{_reason_text(r.reason)}\"" for r in src.rules]
    lines.append("")
    return lines


def _reasons() -> list[str]:
    seen: dict[str, str] = {}
    for src in SOURCES.values():
        for col in src.columns:
            for rule in column_rules(col):
                text = _reason_text(rule.reason).replace(f"in column {col.name}",
                                                         "in column <column>")
                text = re.sub(r"\(allowed: [^)]*\)", "(allowed: <values>)", text)
                text = re.sub(r"\(at most [^)]*\)", "(at most <bound>)", text)
                seen.setdefault(text, _COLUMN_RULE_WHEN.get(text.split(" in column")[0],
                                                             "the value breaks its column's rule"))
        for rule in src.rules:
            seen.setdefault(_reason_text(rule.reason), f"`{src.name}`: `{rule.broken}`")
    seen["duplicate <key> with different content (also in <file>:<line>)"] = (
        "two rows share a key but differ: both are quarantined, each naming the other")
    money = ", ".join(f"`{s.name}`" for s in SOURCES.values() if s.fx_date)
    seen["no exchange rate for currency <currency> on or before <day> (to the reporting "
         "currency <currency>; rates: fx_rates and seeds/fx_rates.csv)"] = (
        f"a money row ({money}) whose currency has no rate to the reporting currency on or "
        "before its day; it comes back by itself once such a rate lands")
    for owned, owner in OWNERSHIP.values():
        seen[f"the {owned} of this row belongs to another {owner} (first seen in "
             "<file>:<line>)"] = f"the `{owned}` was first landed with another `{owner}`"
    for text, why in READER_REASONS:
        seen[text] = why
    return ["| reason | when |", "|---|---|"] + [f"| {t} | {w} |" for t, w in seen.items()]


def render() -> str:
    suffixes = ", ".join(f"`{s}`" for s, _, _ in FORMATS)
    lines = [
        "# The landing format",
        "",
        ("<!-- Generated by `python -m dagster_project.landing_doc` from "
        "dagster_project/contract.py; do not edit by hand. -->"),
        "",
        ("What `product-metrics build` reads. This is the product's public interface: new "
        "columns and sources may be added, nothing here is taken away."),
        "",
        "## Files",
        "",
        ("- `METRICS_LANDING_DIR/<source>/` holds any number of files, in any sub-folders "
        "(hive-style `dt=YYYY-MM-DD/` folders are fine). Landable names end in "
        f"{suffixes}; CSV has a header row and is UTF-8 (a BOM is fine), JSON Lines has one "
        "object per line. Other files, and hidden ones (a name starting with `.`), are "
        "ignored and listed in the build's messages."),
        ("- Columns are matched by name, case and surrounding spaces ignored; unknown columns "
        "are kept in `_extra` of the landed row and used nowhere. Empty text is a missing "
        "value."),
        ("- A file is identified by the SHA-256 of its bytes: landing the same bytes again, "
        "under any name, changes nothing. Files are meant to be immutable: a file whose "
        "content changed under the same path has its rows replaced, with a warning."),
        ("- Files are taken in the order of their path relative to the source folder, rows in "
        "file order: \"first\" and \"last landed\" mean that order."),
        ("- A missing or empty source folder means no data for it: the build still runs, and "
        "the metrics that need it are empty or NULL."),
        "",
        "## The quarantine",
        "",
        ("A row that breaks a rule below is not dropped: it goes to `ops.quarantine` with its "
        "file, line and reason, and the good rows go on. For every file, landed rows = "
        "accepted rows + quarantined rows (`ops.ingestion_log`). A source whose quarantined "
        "share of landed rows is above `METRICS_QUARANTINE_MAX_SHARE` fails the build before "
        "anything is published. A reason names the column and the rule, never the value (a "
        "bad value may be personal data); the raw record is kept in the working warehouse "
        "only (`ops.quarantine.raw_record`)."),
        "",
        *_reasons(),
        "",
        "## Files that cannot be read, changed files and copies",
        "",
        ("- A file that cannot be read at all (a corrupt gzip or Parquet file) holds no rows: "
         "`ops.ingestion_log` lists it with `status` `unreadable`, its size (`file_bytes`) and "
         "the reader's error (values removed), and landed = accepted = quarantined = 0. The "
         "build names it with its size and does not publish while it is in the landing "
         "folder, unless `METRICS_ALLOW_UNREADABLE_FILES=true` (then it is a warning). The "
         "same bytes are not read again; land a fixed file."),
        ("- A file whose content changed under the same path has its rows replaced; its "
         "earlier version's log row is kept in `ops.file_history` (`event` `replaced`, with "
         "when), and the build summary warns. A file whose bytes were already ingested under "
         "another path is skipped and recorded once in `ops.file_history` (`event` "
         "`skipped_copy`, `same_as` naming the ingested path), with a warning."),
        "",
        "## Exchange rates and the reporting currency",
        "",
        ("Every amount is published in one currency, `METRICS_REPORTING_CURRENCY` (default "
         "`USD`). Switching it is that one setting: the rates it needs are derived from the "
         "rate table, whatever its base."),
        "",
        ("- **The rate table** is the landed `fx_rates` rows over the shipped "
         "`seeds/fx_rates.csv` (USD-based, monthly, EUR and GBP). A row says: one unit of "
         "`currency` is worth `rate` units of `base_currency` from `rate_date` on. A table "
         "may use any base (a central bank's own currency, an API's USD or EUR), one base per "
         "date."),
        ("- **Cross rates.** On a date of base B, a currency C converts to the reporting "
         "currency R at rate(C) / rate(R), each the latest rate in base B on or before that "
         "date (B itself at 1). A money row converts at the latest such rate on or before its "
         "own day. So a USD-based table serves USD, EUR, GBP or any currency it holds."),
        ("- **Landed rows win.** On a date with landed rates, the seed's rows of that date in "
         "another base are set aside (also for later days), and a landed rate wins over the "
         "seed's for the same date and currency."),
        ("- **Older files.** `rate_to_reporting` is the older name of `rate`; a row that "
         "gives it without `base_currency` is in terms of the reporting currency, as before. "
         "State the base, and a change of reporting currency needs no new rates."),
        ("- **Refused before anything is published**, with a message naming the currencies, "
         "the dates and the files: rates in two bases for one date; a base currency whose "
         "own rate is not 1 (the table is not in the base it states; e.g. rates left in "
         "USD terms without a base while reporting in EUR); a reporting currency the table "
         "cannot reach while money rows are in other currencies. A money row whose currency "
         "has no rate on or before its day is quarantined (above)."),
        ("- The rates in use are published as `raw.fx_rates_to_reporting` in the working "
         "warehouse (per currency, the days its rate to the reporting currency changes) and "
         "`staging.stg_reference__fx_rates` (with the interval each is in force)."),
        "",
        "## Sources",
        "",
    ]
    for src in SOURCES.values():
        lines += _source_section(src)
    return markdown(lines)


def main() -> int:
    return write_doc(DOC_PATH, render())


if __name__ == "__main__":
    sys.exit(main())
