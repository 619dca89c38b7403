"""Typed errors: one class per thing a caller handles differently.

The gateway answers errors as RFC 9457 problem documents with a stable ``type``
(``urn:leasegate:problem:<code>``) and ``code``. Every error keeps the whole document in
``problem``; messages show server text only escaped (see ``_display``) and never contain a JWT
or a lock token.
"""

from __future__ import annotations

import email.utils
import time
from datetime import datetime
from typing import Any, Mapping, Optional

from ._display import display_text
from ._instant import parse_instant

PROBLEM_TYPE_PREFIX = "urn:leasegate:problem:"


class LeasegateError(Exception):
    """Anything the gateway refused, or a failure to get an answer from it.

    ``status`` is the HTTP status (None when there was no answer), ``code`` the problem code
    (``lock_held``, ``forbidden`` …, or ``http_<status>`` for an answer that was not the gateway's
    own problem document), ``problem_type`` its ``type`` URI, ``detail`` its detail, ``problem``
    every member it had, and ``retry_after`` the seconds the gateway asked to wait, if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        problem: Optional[Mapping[str, Any]] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        self.code = code or (f"http_{status}" if status is not None else "no_answer")
        self.problem_type: Optional[str] = _string(self.problem.get("type"))
        self.title: Optional[str] = _string(self.problem.get("title"))
        self.detail: Optional[str] = _string(self.problem.get("detail"))
        self.retry_after = retry_after


class InvalidRequest(LeasegateError):
    """400 (and 413, 415, 431): the request itself is wrong; ``errors`` lists ``{path, message}``."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = self.problem.get("errors")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


class Unauthorized(LeasegateError):
    """401: the gateway did not accept the JWT (expired, wrong issuer or audience, malformed)."""


class Forbidden(LeasegateError):
    """403: the gateway's policy does not allow this action on this lock for this identity."""


class NotFound(LeasegateError):
    """404 ``not_found``: no such route (is the base URL the gateway's own?)."""


class LockNotFound(LeasegateError):
    """404 ``lock_not_found``: no lock of this name exists yet."""


class LockHeld(LeasegateError):
    """409 ``lock_held``: someone else holds the lock (or the wait for it ended).

    ``holder``, ``subject`` and ``holder_identity`` name the holder as the gateway reported it
    (raw; escape them before showing them), ``expires_at`` is when its hold ends if not renewed.
    With a gateway that queues waiters fairly, ``position`` (1-based, 1 is next), ``waiters`` and
    ``ticket`` say where this caller stands; they are None otherwise. The ticket is a secret that
    keeps the place: it is never part of the message.
    """

    @property
    def holder(self) -> Optional[str]:
        return _string(self.problem.get("holder"))

    @property
    def subject(self) -> Optional[str]:
        return _string(self.problem.get("subject"))

    @property
    def holder_identity(self) -> Optional[str]:
        return _string(self.problem.get("holderIdentity"))

    @property
    def expires_at(self) -> Optional[datetime]:
        return parse_instant(self.problem.get("expiresAt"))

    @property
    def position(self) -> Optional[int]:
        return _integer(self.problem.get("position"))

    @property
    def waiters(self) -> Optional[int]:
        return _integer(self.problem.get("waiters"))

    @property
    def ticket(self) -> Any:
        return self.problem.get("ticket")


class LockLost(LeasegateError):
    """The grant is over: renew answered ``lock_lost`` (or release ``not_holder``), a force
    release or an expiry ended it, or no renewal succeeded before it expired."""


class LockContended(LeasegateError):
    """409 ``lock_contended``: the lock changed on every attempt; trying again shortly is fine."""


class LeaseNotManaged(LeasegateError):
    """409 ``lease_not_managed``: a Lease of this name exists that leasegate does not manage."""


class Unavailable(LeasegateError):
    """The gateway or its Kubernetes backend is temporarily unavailable (503, 429, 504, a proxy's
    502): retry after ``retry_after`` seconds. Nothing is known to have been granted."""


class GatewayUnreachable(Unavailable):
    """No HTTP answer at all: connection refused, DNS, TLS, timeout."""


class InvalidResponse(LeasegateError):
    """The gateway answered something unusable: not JSON, a grant without its fields, a redirect."""


_BY_CODE: dict[str, type[LeasegateError]] = {
    "invalid_request": InvalidRequest,
    "payload_too_large": InvalidRequest,
    "unsupported_media_type": InvalidRequest,
    "headers_too_large": InvalidRequest,
    "unauthenticated": Unauthorized,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "lock_not_found": LockNotFound,
    "lock_held": LockHeld,
    "lock_lost": LockLost,
    "not_holder": LockLost,
    "lock_contended": LockContended,
    "lease_not_managed": LeaseNotManaged,
    "backend_unavailable": Unavailable,
}

_BY_STATUS: dict[int, type[LeasegateError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: InvalidRequest,
    415: InvalidRequest,
    429: Unavailable,
    431: InvalidRequest,
    503: Unavailable,
    504: Unavailable,
}

_HINTS: dict[type[LeasegateError], str] = {
    Unauthorized: "; the gateway did not accept the token (expired, wrong issuer or audience?)",
    Forbidden: "; the gateway's policy does not allow this for your identity",
    NotFound: "; is base_url the gateway's base URL?",
}


def error_from_answer(status: int, body: Any, retry_after_header: Optional[str], operation: str) -> LeasegateError:
    """The typed error for a non-2xx answer to ``operation`` (e.g. ``acquire deploy-prod``)."""
    problem = body if isinstance(body, dict) else {}
    code = _string(problem.get("code"))
    # Only the gateway's own problem documents are trusted to name a code: a proxy in front of
    # it may answer JSON of its own.
    own = code is not None and problem.get("type") == PROBLEM_TYPE_PREFIX + code
    if not own:
        code = None
    if own and code in _BY_CODE:
        cls = _BY_CODE[code]  # type: ignore[index]
    elif 300 <= status < 400:
        cls = InvalidResponse
    elif status == 502 and not own:
        # A proxy's 502 means the gateway is not reachable behind it; the gateway's own
        # 502s (backend_forbidden, backend_invalid) are not transient.
        cls = Unavailable
    else:
        cls = _BY_STATUS.get(status, LeasegateError)

    if 300 <= status < 400:
        text = f"the gateway answered {operation} with a redirect (HTTP {status}), which is not followed: base_url must be the gateway's own address"
    else:
        said = _string(problem.get("detail")) or _string(problem.get("title"))
        text = f"{operation}: {display_text(code or f'http_{status}')}"
        text += f": {display_text(said)}" if said else ""
        text += f" (HTTP {status})"
        if cls is LockHeld:
            text += _held_by(problem)
        if cls is InvalidRequest:
            text += _rule_violations(problem)
        text += _HINTS.get(cls, "")
    return cls(text, status=status, code=code, problem=problem, retry_after=parse_retry_after(retry_after_header))


def parse_retry_after(header: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After as seconds: a number of seconds, or an HTTP date."""
    if header is None:
        return None
    value = header.strip()
    if value.isdigit():
        return float(int(value))
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if at is None or at.tzinfo is None:
        return None
    return max(0.0, at.timestamp() - (time.time() if now is None else now))


def _held_by(problem: Mapping[str, Any]) -> str:
    label, subject = _string(problem.get("holder")), _string(problem.get("subject"))
    who = f"{display_text(label)} ({display_text(subject)})" if label and subject else display_text(label or subject or "")
    if not who:
        who = display_text(_string(problem.get("holderIdentity")) or "")
    text = f"; held by {who}" if who else ""
    expires = _string(problem.get("expiresAt"))
    if who and expires:
        text += f" until {display_text(expires)}"
    position, waiters = _integer(problem.get("position")), _integer(problem.get("waiters"))
    if position is not None:
        text += f"; position {position}" + (f" of {waiters}" if waiters is not None else "") + " in the queue"
    return text


def _rule_violations(problem: Mapping[str, Any]) -> str:
    errors = problem.get("errors")
    if not isinstance(errors, list):
        return ""
    parts = [
        f"{display_text(e.get('path', '?'))} {display_text(e.get('message', ''))}".strip()
        for e in errors[:10]
        if isinstance(e, dict)
    ]
    return f": {'; '.join(parts)}" if parts else ""


def _string(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
