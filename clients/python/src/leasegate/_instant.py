"""Instants as the gateway writes them (RFC 3339, ``2026-11-30T17:49:35.457Z``)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Optional

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)


def parse_instant(value: Any) -> Optional[datetime]:
    """An aware datetime, or None for anything that is not an RFC 3339 instant.

    ``datetime.fromisoformat`` before Python 3.11 accepts neither ``Z`` nor fractions of other
    than 3 or 6 digits, so the parts are normalised first.
    """
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value.strip())
    if not match:
        return None
    whole, fraction, offset = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if offset.upper() == "Z" else offset
    try:
        parsed = datetime.fromisoformat(f"{whole}.{micros}{zone}")
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc)
