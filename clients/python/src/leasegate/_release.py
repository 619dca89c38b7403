"""Releasing at the end of a ``with`` block: a few quick attempts, then the TTL takes over."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Optional

from ._timing import backoff
from .errors import LeasegateError, LockLost, LockNotFound, Unavailable

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("leasegate")

ATTEMPTS = 3
ATTEMPT_TIMEOUT_SECONDS = 5.0


def release_quietly(client: "Client", name: str, token: str) -> Optional[bool]:
    """True if the grant was released, False if it was already over, None if the gateway could
    not be told (the grant then expires at the end of its TTL). Never raises (an interrupt aside):
    the ``with`` block's own outcome is what the caller should see."""
    for attempt in range(ATTEMPTS):
        try:
            return client.release(name, token, timeout=ATTEMPT_TIMEOUT_SECONDS)
        except (LockLost, LockNotFound):
            return False
        except Unavailable as failure:
            if attempt == ATTEMPTS - 1:
                log.warning("leasegate: could not release %s (%s); it expires on its own at the end of its TTL", name, failure)
                return None
            time.sleep(backoff(attempt, 0.25, 1.0))
        except Exception as failure:  # noqa: BLE001 - a 401, a failing token provider …: reported, not raised
            reason = failure if isinstance(failure, LeasegateError) else type(failure).__name__
            log.warning("leasegate: could not release %s (%s); it expires on its own at the end of its TTL", name, reason)
            return None
    return None
