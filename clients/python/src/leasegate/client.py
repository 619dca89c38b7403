"""The gateway's HTTP API, one method per route, over the standard library's http.client."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from typing import Any, Callable, Mapping, Optional, Union
from urllib.parse import quote

from ._display import display_text
from ._gateway_url import parse_gateway_url
from ._version import __version__
from .errors import GatewayUnreachable, InvalidResponse, LockNotFound, NotFound, error_from_answer
from .grant import Grant, LockState

#: Longest answer read: a grant or problem document is a few KiB; anything far larger is not one.
MAX_ANSWER_BYTES = 1 << 20
#: What the gateway accepts as an Idempotency-Key, and what a bearer token can be sent as.
_HEADER_TOKEN = re.compile(r"^[\x21-\x7e]+$")

TokenProvider = Callable[[], str]


class Client:
    """A leasegate gateway at ``base_url``, called with a JWT.

    Pass ``token`` (a fixed JWT) or ``token_provider`` (called before every request, e.g. to fetch
    a fresh CI OIDC token; it must be safe to call from the renewal thread). ``timeout`` bounds
    each request in seconds (a waiting acquire gets its wait on top). Plain ``http://`` is refused
    except for loopback, since requests carry the JWT and lock tokens. Redirects are never
    followed. One client may be shared by threads: every request uses its own connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: Optional[str] = None,
        token_provider: Optional[TokenProvider] = None,
        timeout: float = 15.0,
        ssl_context: Optional[ssl.SSLContext] = None,
        user_agent: Optional[str] = None,
    ) -> None:
        self._url = parse_gateway_url(base_url)
        if (token is None) == (token_provider is None):
            raise ValueError("pass exactly one of token= and token_provider=")
        if token is not None:
            _check_jwt(token)
            fixed = token
            self._token_provider: TokenProvider = lambda: fixed
        else:
            if not callable(token_provider):
                raise ValueError("token_provider must be callable")
            self._token_provider = token_provider  # type: ignore[assignment]
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self._timeout = float(timeout)
        self._ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._user_agent = user_agent or f"leasegate-python/{__version__}"

    @property
    def base_url(self) -> str:
        return self._url.origin + self._url.base_path

    @property
    def timeout(self) -> float:
        return self._timeout

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    # -- routes ---------------------------------------------------------------------------------

    def acquire(
        self,
        name: str,
        *,
        ttl: Optional[int] = None,
        holder: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait: int = 0,
        idempotency_key: Optional[str] = None,
        ticket: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Grant:
        """One acquire request. With ``wait`` (whole seconds; the gateway caps it, at 50 by
        default) the gateway holds the request open while the lock is held and answers the moment
        it is granted, or raises :class:`LockHeld` with ``retry_after == 0`` when the wait ends.
        An ``idempotency_key`` makes a retry of this acquisition return the same grant; with a
        gateway that queues waiters, sending the same key (or the ``ticket`` of the last
        :class:`LockHeld`) on the next call keeps this caller's place in line.
        For a context manager that waits, renews and releases, use :func:`leasegate.lock`."""
        body: dict[str, Any] = {}
        if holder is not None:
            body["holder"] = holder
        if ttl is not None:
            body["ttlSeconds"] = _whole_seconds(ttl, "ttl", minimum=1)
        wait_seconds = _whole_seconds(wait, "wait", minimum=0)
        if wait_seconds:
            body["waitSeconds"] = wait_seconds
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if ticket is not None:
            body["ticket"] = ticket
        headers = {"Idempotency-Key": check_idempotency_key(idempotency_key)} if idempotency_key is not None else {}
        operation = f"acquire {display_text(name)}"
        answer = self._call(
            "POST",
            f"/locks/{lock_path(name)}/acquire",
            operation,
            body=body,
            headers=headers,
            timeout=(timeout or self._timeout) + wait_seconds,
        )
        return Grant.from_answer(answer, operation)

    def renew(self, name: str, token: str, *, ttl: Optional[int] = None, timeout: Optional[float] = None) -> Grant:
        """Extends the grant ``token`` opens; the fencing token stays the same. Raises
        :class:`LockLost` once that grant is over."""
        body: dict[str, Any] = {"token": token}
        if ttl is not None:
            body["ttlSeconds"] = _whole_seconds(ttl, "ttl", minimum=1)
        operation = f"renew {display_text(name)}"
        answer = self._call("POST", f"/locks/{lock_path(name)}/renew", operation, body=body, timeout=timeout)
        return Grant.from_answer(answer, operation)

    def release(self, name: str, token: str, *, timeout: Optional[float] = None) -> bool:
        """Releases the grant ``token`` opens: True if it was live, False if it was already over."""
        operation = f"release {display_text(name)}"
        answer = self._call("POST", f"/locks/{lock_path(name)}/release", operation, body={"token": token}, timeout=timeout)
        return _flag(answer, "released", operation)

    def state(self, name: str, *, timeout: Optional[float] = None) -> LockState:
        """The lock's state, without secrets. Raises :class:`LockNotFound` for a lock never used."""
        operation = f"state of {display_text(name)}"
        return LockState.from_answer(self._call("GET", f"/locks/{lock_path(name)}", operation, timeout=timeout), operation)

    def force_release(self, name: str, *, timeout: Optional[float] = None) -> bool:
        """Ends whatever grant holds the lock (needs the ``admin`` action); the actor is recorded."""
        operation = f"force release of {display_text(name)}"
        return _flag(self._call("DELETE", f"/locks/{lock_path(name)}", operation, timeout=timeout), "released", operation)

    def leave(
        self,
        name: str,
        idempotency_key: Optional[str] = None,
        *,
        ticket: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> bool:
        """Gives up a place in the lock's waiting queue, named by the Idempotency-Key the waiting
        acquires sent or by the ``ticket`` of the last :class:`LockHeld`. True if a place was given
        up; False if there was none, also from a gateway that keeps no queue."""
        if idempotency_key is None and ticket is None:
            raise ValueError("name the place to give up: idempotency_key= or ticket=")
        operation = f"leave the queue of {display_text(name)}"
        headers = {"Idempotency-Key": check_idempotency_key(idempotency_key)} if idempotency_key is not None else {}
        try:
            answer = self._call(
                "POST",
                f"/locks/{lock_path(name)}/leave",
                operation,
                body={} if ticket is None else {"ticket": ticket},
                headers=headers,
                timeout=timeout,
            )
        except (NotFound, LockNotFound):
            return False
        return _flag(answer, "left", operation)

    # -- transport ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        body: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> dict[str, Any]:
        """The JSON object of a 2xx answer; any other answer (or none) raises a typed error."""
        jwt = self._token_provider()
        _check_jwt(jwt)
        request_headers = {
            "Authorization": f"Bearer {jwt}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": self._user_agent,
            **(headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        connection = self._connection(timeout or self._timeout)
        try:
            connection.request(method, self._url.base_path + path, body=data, headers=request_headers)
            response = connection.getresponse()
            raw = response.read(MAX_ANSWER_BYTES + 1)
            status = response.status
            retry_after = response.getheader("Retry-After")
        except (OSError, http.client.HTTPException) as err:
            raise GatewayUnreachable(f"{operation}: cannot reach the gateway at {self._url.origin}: {_network_cause(err)}") from err
        finally:
            # Also when interrupted: a waiting acquire whose connection closes stops waiting.
            connection.close()

        parsed: Any = None
        if len(raw) <= MAX_ANSWER_BYTES:
            try:
                parsed = json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, ValueError):
                parsed = None
        if not 200 <= status < 300:
            raise error_from_answer(status, parsed, retry_after, operation)
        if not isinstance(parsed, dict):
            raise InvalidResponse(f"{operation}: the gateway answered HTTP {status} with something that is not a JSON object", status=status)
        return parsed

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._url.scheme == "https":
            return http.client.HTTPSConnection(self._url.host, self._url.port, timeout=timeout, context=self._ssl_context)
        return http.client.HTTPConnection(self._url.host, self._url.port, timeout=timeout)


def lock_path(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("a lock name is a non-empty string")
    if name in (".", ".."):
        raise ValueError(f"{name!r} is not a lock name")
    return quote(name, safe="")


def _check_jwt(jwt: object) -> None:
    # Checked here so that a bad value is reported without repeating it (it may be a secret).
    if not isinstance(jwt, str) or not _HEADER_TOKEN.match(jwt):
        raise ValueError("the token is not a usable JWT (empty, or not printable ASCII without spaces)")


def check_idempotency_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or not _HEADER_TOKEN.match(key):
        raise ValueError("an idempotency key is 1 to 255 printable ASCII characters without spaces")
    return key


def _whole_seconds(value: Union[int, float], what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise ValueError(f"{what} must be a whole number of seconds, at least {minimum} (got {value!r})")
    return int(value)


def _flag(answer: Mapping[str, Any], member: str, operation: str) -> bool:
    value = answer.get(member)
    if not isinstance(value, bool):
        raise InvalidResponse(f"{operation}: the gateway's answer has no {member} flag")
    return value


def _network_cause(err: BaseException) -> str:
    """A short, secret-free reason for a request that got no answer."""
    if isinstance(err, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({display_text(err.verify_message or err.reason)})"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, http.client.RemoteDisconnected):
        return "the connection closed without an answer"
    if isinstance(err, ConnectionResetError):
        return "connection reset"
    if isinstance(err, socket.gaierror):
        return f"name resolution failed ({display_text(err.strerror or err)})"
    return display_text(f"{type(err).__name__}: {err}")
