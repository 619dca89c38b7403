"""Text from the gateway, made safe to show in exception messages and logs.

Holder labels, subjects, problem details and lock names come from other callers, or from whatever
answers at the gateway's address. Printed as they are, control characters could move the cursor,
fake log lines or issue CI log commands (a new line starting ``::stop-commands::`` in GitHub
Actions), and bidirectional formatting characters could make text read in another order. Every
server-supplied string that ends up in a message goes through :func:`display_text`.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included), DEL and C1 controls, the bidirectional formatting
# characters, and the line and paragraph separators: what the gateway refuses in labels, plus
# the two characters some log viewers break lines at.
_ESCAPED = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# Legacy GitHub Actions commands (``##[add-mask]``) and Azure Pipelines' ``##vso[`` count anywhere
# in a line: the first ``#`` is escaped.
_MARKER_COMMAND = re.compile(r"#(?=#(?:\[|vso\[))", re.IGNORECASE)
# Workflow commands (``::name::value``) count at the start of a line, after blanks.
_LEADING_COMMAND = re.compile(r"^(\s*):(?=:)")

_MAX_LENGTH = 500


def display_text(value: object) -> str:
    """``value`` as one inert line: unprintable characters shown as visible escapes
    (``\\x1b``, ``\\u{202e}``), CI log command markers defused, and long text cut short."""
    text = str(value)
    if len(text) > _MAX_LENGTH:
        text = text[:_MAX_LENGTH] + "…"
    text = _ESCAPED.sub(lambda m: _visible_escape(ord(m.group(0))), text)
    text = _MARKER_COMMAND.sub(r"\\x23", text)
    return _LEADING_COMMAND.sub(r"\1\\x3a", text)


def _visible_escape(code_point: int) -> str:
    return f"\\x{code_point:02x}" if code_point <= 0xFF else f"\\u{{{code_point:x}}}"
