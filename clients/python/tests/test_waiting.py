"""Waiting for a held lock: granted the moment it is released, refused when the wait ends, and
an interrupted wait leaves nothing behind."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from leasegate import Client, LockHeld, lock


def test_a_waiting_caller_is_granted_promptly_after_release_across_several_long_polls(
    alice: Client, bob: Client, lock_name: str, max_wait_seconds: int
) -> None:
    holder = alice.acquire(lock_name, ttl=60)
    outcome: dict[str, Any] = {}

    def wait_for_it() -> None:
        try:
            with lock(bob, lock_name, ttl=10, wait=60) as grant:
                outcome["granted_at"] = time.monotonic()
                outcome["fencing_token"] = grant.fencing_token
        except BaseException as failure:  # noqa: BLE001 - reported below
            outcome["failure"] = failure

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    # Longer than one long poll, so that the wait is a series of requests.
    time.sleep(max_wait_seconds * 1.5)
    assert waiter.is_alive() and not outcome
    released_at = time.monotonic()
    assert alice.release(lock_name, holder.token) is True
    waiter.join(timeout=30)

    assert "failure" not in outcome, outcome.get("failure")
    # Woken by the release, not by the holder's expiry 60 s later.
    assert outcome["granted_at"] - released_at < 10, "granted long after the release"
    assert outcome["fencing_token"] > holder.fencing_token


def test_a_wait_that_ends_raises_lock_held_after_about_the_wait(alice: Client, bob: Client, lock_name: str, max_wait_seconds: int) -> None:
    wait = max_wait_seconds + 1.5
    with lock(alice, lock_name, ttl=60, holder="long job"):
        started = time.monotonic()
        with pytest.raises(LockHeld) as held:
            with lock(bob, lock_name, ttl=10, wait=wait):
                pytest.fail("the block ran without the lock")
        waited = time.monotonic() - started
    assert wait - 0.5 <= waited < wait + 5
    assert held.value.holder == "long job"


class _Interrupted(BaseException):
    """What a signal handler raises, like KeyboardInterrupt."""


def test_an_interrupted_wait_stops_at_once_and_is_never_granted_later(alice: Client, bob: Client, lock_name: str) -> None:
    holder = alice.acquire(lock_name, ttl=60)

    def interrupt(signum: int, frame: Any) -> None:
        raise _Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        started = time.monotonic()
        with pytest.raises(_Interrupted):
            with lock(bob, lock_name, ttl=30, wait=60):
                pytest.fail("the block ran without the lock")
        assert time.monotonic() - started < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    # The gateway stopped waiting when the connection closed: the release grants nobody.
    alice.release(lock_name, holder.token)
    time.sleep(1.5)
    assert alice.state(lock_name).status == "free"


def test_leaving_a_queue_is_harmless_when_there_is_nothing_to_leave(bob: Client, lock_name: str) -> None:
    assert bob.leave(lock_name, "leasegate-py-nothing-to-leave") is False
