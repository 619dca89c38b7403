"""Keeping a grant alive in the background, and noticing the moment it is not."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Optional

from ._timing import backoff, monotonic
from .errors import LeasegateError, LockLost, LockNotFound

if TYPE_CHECKING:
    from .client import Client
    from .grant import Grant

log = logging.getLogger("leasegate")

#: Slowest retry of a failed renewal; retries start at a quarter second.
MAX_RETRY_SECONDS = 2.0
MAX_REQUEST_SECONDS = 15.0


class Renewer:
    """Renews a grant about every ttl/3 on a daemon thread, retries failures quickly, and calls
    ``on_lost`` once when a renewal is refused (``lock_lost``, ``not_holder``, ``lock_not_found``)
    or when no renewal has succeeded by the time the grant expires.

    Expiry is measured on the local monotonic clock from the moment the last successful request
    was *sent*, which is never later than the gateway's ``renewTime``: clock skew cannot make this
    process believe it holds a lock the gateway already considers expired. A second thread
    watches that expiry, so the loss is reported on time even while a renewal request hangs.
    """

    def __init__(
        self,
        client: "Client",
        name: str,
        grant: "Grant",
        *,
        valid_from: float,
        ttl: int,
        renew_now: bool,
        on_lost: Callable[[str], None],
    ) -> None:
        self._client = client
        self._name = name
        self._token = grant.token
        self._ttl = ttl
        self._on_lost = on_lost
        self._changed = threading.Condition()
        self._grant = grant
        self._expires_at = valid_from + grant.ttl_seconds
        self._next_renewal = monotonic() if renew_now else valid_from + self._interval(grant)
        self._done = False
        self._renewals = 0
        self._failures = 0
        self._renewing = threading.Thread(target=self._renew_loop, name=f"leasegate-renew {name}", daemon=True)
        self._watching = threading.Thread(target=self._expiry_watch, name=f"leasegate-expiry {name}", daemon=True)

    @property
    def grant(self) -> "Grant":
        """The latest grant (its ``expires_at`` moves with every renewal)."""
        with self._changed:
            return self._grant

    @property
    def renewals(self) -> int:
        with self._changed:
            return self._renewals

    def start(self) -> None:
        self._renewing.start()
        self._watching.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stops renewing and waits (up to ``timeout``) for a renewal in flight, so that a release
        sent next comes after it."""
        with self._changed:
            self._done = True
            self._changed.notify_all()
        if self._renewing.is_alive() and self._renewing is not threading.current_thread():
            self._renewing.join(timeout)

    @staticmethod
    def _interval(grant: "Grant") -> float:
        return max(0.25, grant.ttl_seconds / 3)

    def _renew_loop(self) -> None:
        while True:
            with self._changed:
                while not self._done and self._next_renewal > monotonic():
                    self._changed.wait(self._next_renewal - monotonic())
                if self._done:
                    return
                left = self._expires_at - monotonic()
            sent_at = monotonic()
            try:
                grant = self._client.renew(
                    self._name, self._token, ttl=self._ttl, timeout=min(MAX_REQUEST_SECONDS, max(1.0, left))
                )
            except (LockLost, LockNotFound) as refusal:
                self._lose(f"renewal refused: {refusal}")
                return
            except Exception as failure:  # noqa: BLE001 - every other failure is retried until expiry
                self._retry_after_failure(failure)
                continue
            with self._changed:
                if self._done:
                    return
                if self._failures:
                    log.info("leasegate: renewed %s again after %d failed attempt(s)", self._name, self._failures)
                self._failures = 0
                self._renewals += 1
                self._grant = grant
                # Counted from when this renewal was sent, so that slow answers do not eat the margin.
                self._expires_at = sent_at + grant.ttl_seconds
                self._next_renewal = sent_at + self._interval(grant)
                self._changed.notify_all()

    def _retry_after_failure(self, failure: Exception) -> None:
        with self._changed:
            if self._done:
                return
            self._failures += 1
            if self._failures == 1 or self._failures % 10 == 0:
                reason = failure if isinstance(failure, LeasegateError) else type(failure).__name__
                log.warning(
                    "leasegate: renewing %s failed (%s); retrying until the grant expires in %.1f s",
                    self._name,
                    reason,
                    max(0.0, self._expires_at - monotonic()),
                )
            pause = backoff(self._failures - 1, 0.25, MAX_RETRY_SECONDS)
            self._next_renewal = monotonic() + min(pause, max(0.0, self._expires_at - monotonic()))

    def _expiry_watch(self) -> None:
        with self._changed:
            while not self._done:
                left = self._expires_at - monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            if self._done:
                return
        self._lose("no renewal succeeded before the grant expired")

    def _lose(self, reason: str) -> None:
        with self._changed:
            if self._done:
                return
            self._done = True
            self._changed.notify_all()
        log.warning("leasegate: lost %s: %s", self._name, reason)
        self._on_lost(reason)
