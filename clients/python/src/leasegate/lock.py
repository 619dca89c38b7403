"""``with lock(client, "deploy-prod") as grant:``: acquire (waiting), renew, always release."""

from __future__ import annotations

import math
import secrets
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Mapping, Optional, Type

from ._holder import default_holder, holder_label
from ._release import release_quietly
from ._renewer import MAX_REQUEST_SECONDS, Renewer
from ._waiting import AcquireRequest, Acquired, acquire_within_wait
from .client import check_idempotency_key, lock_path
from .errors import LockLost

if TYPE_CHECKING:
    from .client import Client
    from .grant import Grant


class HeldLock:
    """A lock held inside a ``with lock(...)`` block, renewed in the background.

    ``lost`` is a :class:`threading.Event`, set the moment the grant is known to be over (a
    renewal was refused, e.g. after an admin's force release) or can no longer be renewed in time
    (no renewal succeeded before it expired); ``lost_reason`` then says why. Work done after that
    is no longer protected by the lock: check ``lost`` (or call :meth:`ensure_held`) between steps,
    and pass ``fencing_token`` to the resource you protect so that it refuses a stale holder.
    ``token`` is the secret lock token; it is never part of ``repr`` or ``str``.
    """

    def __init__(self, client: "Client", name: str, acquired: Acquired, ttl: int) -> None:
        self.lost = threading.Event()
        self._client = client
        self._name = name
        self._lost_reason: Optional[str] = None
        self._first = acquired.grant
        self._released: Optional[bool] = None
        self._renewer = Renewer(
            client,
            name,
            acquired.grant,
            valid_from=acquired.valid_from,
            ttl=ttl,
            renew_now=acquired.renew_now,
            on_lost=self._mark_lost,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def fencing_token(self) -> int:
        """Strictly greater than every earlier grant's of this lock; the same for this whole grant."""
        return self._first.fencing_token

    @property
    def token(self) -> str:
        """The secret lock token (renews and releases this grant). Do not log it."""
        return self._first.token

    @property
    def grant(self) -> "Grant":
        """The latest grant the gateway returned (acquire, then each renewal)."""
        return self._renewer.grant

    @property
    def renewals(self) -> int:
        """Successful renewals so far."""
        return self._renewer.renewals

    @property
    def lost_reason(self) -> Optional[str]:
        return self._lost_reason

    @property
    def released(self) -> Optional[bool]:
        """After the block: True if released, False if the grant was already over, None if the
        gateway could not be told (it then expires at the end of its TTL) or before the end."""
        return self._released

    def ensure_held(self) -> None:
        """Raises :class:`LockLost` if the lock has been lost."""
        if self.lost.is_set():
            raise LockLost(f"lost {self.name}: {self._lost_reason}")

    def __repr__(self) -> str:
        state = f"lost: {self._lost_reason}" if self.lost.is_set() else "held"
        return f"<HeldLock {self.name!r} fencing_token={self.fencing_token} {state}>"

    __str__ = __repr__

    def _start(self) -> None:
        self._renewer.start()

    def _finish(self) -> None:
        """Stops renewing (after a renewal in flight), then releases, whatever happened."""
        self._renewer.stop(timeout=MAX_REQUEST_SECONDS + 1)
        self._released = release_quietly(self._client, self.name, self.token)

    def _mark_lost(self, reason: str) -> None:
        self._lost_reason = reason
        self.lost.set()


class _LockContext:
    def __init__(self, client: "Client", request: AcquireRequest, raise_if_lost: bool) -> None:
        self._client = client
        self._request = request
        self._raise_if_lost = raise_if_lost
        self._held: Optional[HeldLock] = None
        self._entered = False

    def __enter__(self) -> HeldLock:
        if self._entered:
            raise RuntimeError("a lock(...) context manager can be entered only once; call lock(...) again")
        self._entered = True
        acquired = acquire_within_wait(self._client, self._request)
        try:
            held = HeldLock(self._client, self._request.name, acquired, self._request.ttl)
            held._start()
        except BaseException:
            release_quietly(self._client, self._request.name, acquired.grant.token)
            raise
        self._held = held
        return held

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        held = self._held
        if held is None:
            return False
        held._finish()
        if held.lost.is_set():
            message = f"lost {held.name} while the block ran: {held.lost_reason}"
            if exc is None:
                if self._raise_if_lost:
                    raise LockLost(message)
            elif not isinstance(exc, LockLost) and hasattr(exc, "add_note"):
                exc.add_note(f"leasegate: {message}")
        # Never swallows the block's own exception.
        return False


def lock(
    client: "Client",
    name: str,
    *,
    ttl: int = 30,
    wait: Optional[float] = None,
    holder: Optional[str] = None,
    metadata: Optional[Mapping[str, str]] = None,
    idempotency_key: Optional[str] = None,
    raise_if_lost: bool = True,
) -> _LockContext:
    """Holds the lock ``name`` for the duration of a ``with`` block::

        with lock(client, "deploy-prod", ttl=30, wait=300) as grant:
            deploy(fencing_token=grant.fencing_token)
            if grant.lost.is_set(): ...

    - Acquires with ``ttl`` seconds, waiting up to ``wait`` seconds while someone else holds the
      lock (None or 0: do not wait; ``math.inf``: wait for ever) as a series of long polls that
      are answered the moment the lock is released to this caller. Raises :class:`LockHeld` if
      the wait ends first; transient failures (503, no answer) are retried meanwhile. Every
      request of one wait sends the same Idempotency-Key, so a retry whose answer was lost gets
      the grant that landed, and a gateway that queues waiters keeps this caller's place; a wait
      that ends without a grant (or is interrupted) gives that place up.
    - Renews on a daemon thread about every ttl/3 and sets ``grant.lost`` the moment the lock is
      lost or can no longer be renewed before it expires.
    - Releases on exit, also when the block raises, whose exception is never swallowed. If the
      lock was lost while a block that raised nothing ran, exit raises :class:`LockLost`
      (``raise_if_lost=False`` leaves that to the block's own checks).

    ``holder`` is the label others see (default ``user@host pid N``); ``metadata`` string values
    are stored with the grant; ``idempotency_key`` replaces the random key of this acquisition
    (e.g. a CI run id, so that a retried job gets back its own live grant).
    """
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ValueError(f"ttl must be a whole number of seconds, at least 1 (got {ttl!r})")
    lock_path(name)
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
    if wait is None:
        wait = 0
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or math.isnan(wait) or wait < 0:
        raise ValueError(f"wait must be a number of seconds, at least 0 (got {wait!r})")
    request = AcquireRequest(
        name=name,
        ttl=ttl,
        holder=default_holder() if holder is None else holder_label(holder),
        metadata=dict(metadata) if metadata is not None else None,
        wait=float(wait),
        idempotency_key=idempotency_key if idempotency_key is not None else f"leasegate-py-{secrets.token_urlsafe(18)}",
    )
    return _LockContext(client, request, raise_if_lost)
