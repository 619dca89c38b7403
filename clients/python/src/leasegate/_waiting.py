"""Acquiring a lock within a wait: a series of long polls, with retries of transient failures."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional

from ._timing import backoff, jitter_above, monotonic
from .errors import LeasegateError, LockContended, LockHeld, LockLost, LockNotFound, Unavailable

if TYPE_CHECKING:
    from .client import Client
    from .grant import Grant

log = logging.getLogger("leasegate")

#: The longest one request asks the gateway to wait (it may cap it lower): below common proxy
#: idle timeouts. Longer waits are a series of requests.
LONG_POLL_SECONDS = 50
#: How long transient failures (gateway unreachable, 503) are retried in a row.
TRANSIENT_BUDGET_SECONDS = 60.0
#: Transient failures are retried at least this long, even by a caller that does not wait for
#: the lock: "not acquired" should mean that someone else holds it.
MIN_TRANSIENT_RETRY_SECONDS = 10.0
#: Each clean-up request after giving up (collect a grant that may have landed, leave the queue).
CLEANUP_TIMEOUT_SECONDS = 5.0
#: How much older than its answer a grant to a waiting request is taken to be, at most (and at
#: most a third of its ttl): the gateway answers the moment it grants.
GRANT_ANSWER_ALLOWANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Acquired:
    grant: "Grant"
    #: Monotonic time the grant is counted from: it lasts ttl from then.
    valid_from: float
    #: valid_from is an estimate (the grant ended a long wait, or may be the replay of one made
    #: by an attempt that got no answer): renew at once, which replaces it with a measurement.
    renew_now: bool


@dataclass(frozen=True)
class AcquireRequest:
    name: str
    ttl: int
    holder: Optional[str]
    metadata: Optional[Mapping[str, str]]
    #: Seconds to keep trying while the lock is held: 0 asks once, math.inf waits for ever.
    wait: float
    #: The same on every request of this wait: a retry whose answer was lost gets the grant that
    #: landed, and a gateway that queues waiters keeps this caller's place.
    idempotency_key: str


def acquire_within_wait(client: "Client", request: AcquireRequest) -> Acquired:
    """The grant, or the error that ended the wait (:class:`LockHeld` when the wait ran out).

    Each attempt asks the gateway to wait (up to LONG_POLL_SECONDS): it answers the moment the
    lock is granted to this caller, so the hand-over takes one round trip, not a poll interval.
    Whatever ends the wait without a grant (its end, an error, KeyboardInterrupt), this caller's
    place in the queue is given up, and a grant that may have landed unseen is collected and
    released, before the error is raised.
    """
    attempts = _Attempts(client, request)
    try:
        return attempts.run()
    except BaseException:
        _abandon(client, request, collect=attempts.maybe_granted)
        raise


class _Attempts:
    def __init__(self, client: "Client", request: AcquireRequest) -> None:
        self._client = client
        self._request = request
        self._deadline = monotonic() + request.wait
        #: Send time of the first attempt since the last definite refusal that got no answer.
        self._unanswered_since: Optional[float] = None
        self._in_flight = False

    @property
    def maybe_granted(self) -> bool:
        """Whether a grant may have landed that this caller has not seen."""
        return self._in_flight or self._unanswered_since is not None

    def run(self) -> Acquired:
        held_attempts = transient_attempts = 0
        transient_since: Optional[float] = None
        while True:
            sent_at = monotonic()
            # Whole seconds, rounded down unless a hair short of the next one (the wait began a
            # moment before this attempt): a wait of 2 asks for 2, not 1.
            remaining = self._deadline - sent_at
            wait_seconds = int(min(LONG_POLL_SECONDS, remaining + 0.1)) if remaining + 0.1 >= 1 else 0
            self._in_flight = True
            try:
                grant = self._client.acquire(
                    self._request.name,
                    ttl=self._request.ttl,
                    holder=self._request.holder,
                    metadata=self._request.metadata,
                    wait=wait_seconds,
                    idempotency_key=self._request.idempotency_key,
                )
            except LockHeld as held:
                self._in_flight = False
                # A definite answer: no grant of this acquisition is live now.
                self._unanswered_since = None
                transient_since, transient_attempts = None, 0
                now = monotonic()
                if now >= self._deadline:
                    raise
                if wait_seconds > 0 and held.retry_after == 0:
                    # The gateway's wait ended: call again now to go on waiting. A gateway that
                    # "ended" it at once is not waiting at all, and is not called in a tight loop.
                    if now - sent_at >= 0.9:
                        delay = 0.0
                    else:
                        delay = backoff(held_attempts, 0.25, 5.0)
                        held_attempts += 1
                elif held.retry_after is not None:
                    delay = jitter_above(held.retry_after)
                else:
                    delay = backoff(held_attempts, 1.0, 30.0)
                    held_attempts += 1
                delay = min(delay, self._deadline - now)
            except (Unavailable, LockContended) as trouble:
                self._in_flight = False
                now = monotonic()
                if transient_since is None:
                    transient_since = now
                if isinstance(trouble, Unavailable) and self._unanswered_since is None:
                    # No answer, or a 503 for a write whose outcome the gateway could not learn.
                    self._unanswered_since = sent_at
                give_up_at = min(max(self._deadline, transient_since + MIN_TRANSIENT_RETRY_SECONDS), transient_since + TRANSIENT_BUDGET_SECONDS)
                if now >= give_up_at:
                    raise
                if trouble.retry_after is not None:
                    delay = jitter_above(trouble.retry_after)
                else:
                    delay = backoff(transient_attempts, 0.5, 10.0)
                    transient_attempts += 1
                delay = min(delay, give_up_at - now)
            except LeasegateError:
                self._in_flight = False
                raise
            else:
                self._in_flight = False
                return self._dated(grant, sent_at, answered_at=monotonic(), waited=wait_seconds > 0)
            if delay > 0:
                time.sleep(delay)

    def _dated(self, grant: "Grant", sent_at: float, answered_at: float, waited: bool) -> Acquired:
        """When the grant is counted from. Normally from when its request was sent, which is never
        later than the gateway's grant. A grant that may be the replay of one made by an earlier
        attempt that got no answer is counted from that attempt, conservatively. But a waiting
        request is answered the moment it is granted, maybe minutes after it was sent: counted
        from the send, a grant that ends a wait longer than its ttl would seem expired on arrival.
        It is counted from its answer less an allowance, and renewed at once."""
        if self._unanswered_since is not None:
            return Acquired(grant, valid_from=min(sent_at, self._unanswered_since), renew_now=True)
        allowance = min(GRANT_ANSWER_ALLOWANCE_SECONDS, grant.ttl_seconds / 3)
        if not waited or answered_at - sent_at <= allowance:
            return Acquired(grant, valid_from=sent_at, renew_now=False)
        return Acquired(grant, valid_from=answered_at - allowance, renew_now=True)


def _abandon(client: "Client", request: AcquireRequest, *, collect: bool) -> None:
    """Best effort, never raises: release a grant that may have landed unseen (asking once more
    with the same Idempotency-Key, without waiting, returns it), then leave the queue."""
    if collect:
        try:
            grant = client.acquire(
                request.name,
                ttl=request.ttl,
                holder=request.holder,
                metadata=request.metadata,
                idempotency_key=request.idempotency_key,
                timeout=CLEANUP_TIMEOUT_SECONDS,
            )
        except Exception:  # noqa: BLE001 - nothing to collect, or no way to learn it now
            pass
        else:
            try:
                client.release(request.name, grant.token, timeout=CLEANUP_TIMEOUT_SECONDS)
            except (LockLost, LockNotFound):
                pass
            except Exception as failure:  # noqa: BLE001
                log.warning("leasegate: could not release %s after giving up waiting (%s); it expires on its own", request.name, _safe(failure))
    try:
        client.leave(request.name, request.idempotency_key, timeout=CLEANUP_TIMEOUT_SECONDS)
    except Exception as failure:  # noqa: BLE001
        log.info("leasegate: could not leave the queue of %s (%s)", request.name, _safe(failure))


def _safe(failure: BaseException) -> str:
    return str(failure) if isinstance(failure, LeasegateError) else type(failure).__name__

