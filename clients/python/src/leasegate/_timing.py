"""Retry timing: backoff with jitter, on the monotonic clock."""

from __future__ import annotations

import random
import time

#: Seconds on a clock that wall-clock jumps (NTP, daylight saving) do not move.
monotonic = time.monotonic


def backoff(attempt: int, base: float, maximum: float) -> float:
    """base·2^attempt capped at maximum, then scaled by 50–100 %, so that retries spread out."""
    ceiling = min(maximum, base * 2 ** min(attempt, 20))
    return ceiling * (0.5 + random.random() * 0.5)


def jitter_above(seconds: float) -> float:
    """Up to 20 % (and a quarter second) more than asked, so that waiters do not retry in step."""
    return seconds + seconds * 0.2 * random.random() + 0.25 * random.random()
