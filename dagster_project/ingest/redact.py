"""Messages about landed data name the file, the line, the column and the rule, never a
landed value: quarantine reasons are published (``ops.quarantine.reason``) and every message
goes to logs, and a bad value may be personal data (an e-mail typed into a date column).

Our own rules are written without values (``contract.RowRule``). What needs redacting is
the text of DuckDB's errors, which quote the value or the line they choke on
(``Could not convert string 'jane@corp.com' ...``, ``Original Line: ...``): quoted text is
replaced by ``…`` and anything from a quoted line on is dropped.
"""

from __future__ import annotations

import re

REDACTED = "…"
# DuckDB appends the offending line after one of these; nothing after it is kept.
_LINE_MARKERS = ("Original Line", "Line:", "\n")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
MAX_CHARS = 200


def redact(text: str, keep: tuple[str, ...] = ()) -> str:
    """``text`` without quoted values or quoted lines; the strings in ``keep`` (the file's
    own name) survive."""
    text = text.strip()
    for marker in _LINE_MARKERS:
        cut = text.find(marker)
        if cut > 0:
            text = text[:cut]
    kept = {f"\0{i}\0": k for i, k in enumerate(keep) if k}
    for token, value in kept.items():
        text = text.replace(value, token)
    text = _QUOTED.sub(REDACTED, text)
    for token, value in kept.items():
        text = text.replace(token, value)
    text = text.strip(" :;,")
    return text[:MAX_CHARS] + (REDACTED if len(text) > MAX_CHARS else "")


def redact_sql(expr: str) -> str:
    """The same in DuckDB SQL, over a text expression (for errors DuckDB records in a
    table, e.g. the CSV reader's rejects)."""
    cut = f"split_part(split_part(split_part({expr}, 'Original Line', 1), 'Line:', 1), chr(10), 1)"
    return f"""trim(regexp_replace({cut}, '''[^'']*''|"[^"]*"', '{REDACTED}', 'g'), ' :;,')"""
