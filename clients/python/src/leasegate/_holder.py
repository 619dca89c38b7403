"""The label others see while this process holds a lock."""

from __future__ import annotations

import getpass
import os
import re
import socket

_MAX_UTF16_UNITS = 128
# What the gateway refuses in a label: control and bidirectional formatting characters.
_UNPRINTABLE_RUN = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def default_holder() -> str:
    """``user@host pid N``: for humans only; the gateway records the authenticated subject apart."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = "unknown"
    return holder_label(f"{user}@{socket.gethostname()} pid {os.getpid()}")


def holder_label(label: str) -> str:
    """A label the gateway accepts: one line of 1–128 printable characters (counted, as the
    gateway counts them, in UTF-16 code units)."""
    one_line = _UNPRINTABLE_RUN.sub(" ", label).strip() or "unknown"
    if _utf16_units(one_line) <= _MAX_UTF16_UNITS:
        return one_line
    cut = ""
    for character in one_line:
        if _utf16_units(cut + character) > _MAX_UTF16_UNITS - 1:
            break
        cut += character
    return cut + "…"


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
