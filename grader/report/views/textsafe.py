"""Text from a report made safe to show on a terminal: control characters shown, never obeyed.

A report's strings (messages, what the code printed, file and test names) carry what the submission
chose; printed raw, an ANSI escape or a carriage return could move the cursor, erase the real score
line and draw a fake one. Every control character (C0 but newline and tab, DEL, C1) and every
bidirectional override is written as a visible escape such as `\\x1b` or `\\u202e`. Pure functions:
the report itself is never changed, only the copy a view prints.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but \t and \n, DEL and C1, the bidi embeddings/overrides/isolates, and the line and
# paragraph separators (which splitlines() would treat as line breaks).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with each control character written as its escape; newlines and tabs are kept."""
    return _CONTROL.sub(_escape, text)


def escape_strings(value: Any) -> Any:
    """A copy of a report (or any JSON value) with every string, keys included, escaped."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {escape_strings(k): escape_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_strings(v) for v in value]
    return value
