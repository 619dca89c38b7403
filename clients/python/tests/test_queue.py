"""Waiters are granted in arrival order, and a waiter that gives up leaves the line at once."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

from leasegate import Client, LockHeld, lock


def _in_background(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as failure:  # noqa: BLE001 - the test reads it
            outcome["failure"] = failure
        outcome["ended_at"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_refused_waiter_learns_its_place_and_can_give_it_up_by_ticket(alice: Client, bob: Client, lock_name: str) -> None:
    holder = alice.acquire(lock_name, ttl=60)
    try:
        with pytest.raises(LockHeld) as held:
            bob.acquire(lock_name, ttl=10, wait=1)
        assert (held.value.position, held.value.waiters) == (1, 1)
        assert isinstance(held.value.ticket, str) and held.value.ticket not in str(held.value)
        assert bob.leave(lock_name, ticket=held.value.ticket) is True
        assert bob.leave(lock_name, ticket=held.value.ticket) is False
    finally:
        alice.release(lock_name, holder.token)


def test_waiters_are_granted_in_the_order_they_arrived(alice: Client, bob: Client, carol: Client, lock_name: str) -> None:
    holder = alice.acquire(lock_name, ttl=60)
    order: list[str] = []

    def hold_briefly(name: str, client: Client) -> Callable[[], None]:
        def work() -> None:
            with lock(client, lock_name, ttl=10, wait=60):
                order.append(name)
                time.sleep(0.5)

        return work

    try:
        first, first_outcome = _in_background(hold_briefly("bob", bob))
        time.sleep(1.5)
        second, second_outcome = _in_background(hold_briefly("carol", carol))
        time.sleep(1.5)
    finally:
        alice.release(lock_name, holder.token)
    first.join(timeout=30)
    second.join(timeout=30)
    assert "failure" not in first_outcome and "failure" not in second_outcome, (first_outcome, second_outcome)
    assert order == ["bob", "carol"]


def test_a_waiter_that_gives_up_does_not_hold_up_the_next_in_line(alice: Client, bob: Client, carol: Client, lock_name: str) -> None:
    holder = alice.acquire(lock_name, ttl=60)
    try:

        def give_up_soon() -> None:
            with lock(bob, lock_name, ttl=10, wait=2):
                pytest.fail("bob was granted while alice held the lock")

        impatient, impatient_outcome = _in_background(give_up_soon)
        time.sleep(0.5)

        def wait_long() -> int:
            with lock(carol, lock_name, ttl=10, wait=60) as grant:
                return grant.fencing_token

        patient, patient_outcome = _in_background(wait_long)
        impatient.join(timeout=10)
        assert isinstance(impatient_outcome.get("failure"), LockHeld)
        released_at = time.monotonic()
    finally:
        alice.release(lock_name, holder.token)
    patient.join(timeout=30)
    assert "failure" not in patient_outcome, patient_outcome
    # Bob's place was given up when he stopped waiting; it did not linger until its ticket
    # expired (15 s) and hold Carol up.
    assert patient_outcome["ended_at"] - released_at < 8
