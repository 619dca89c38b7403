"""The low-level calls against the real gateway: acquire, renew, release, state, force release."""

from __future__ import annotations

import pytest

from leasegate import Client, Grant, LockHeld, LockLost, LockNotFound


def test_acquire_returns_a_grant_with_an_integer_fencing_token_and_release_ends_it(alice: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=20, holder="pytest", metadata={"purpose": "test"})
    assert isinstance(grant, Grant)
    assert grant.name == lock_name
    assert isinstance(grant.fencing_token, int) and grant.fencing_token > 0
    assert grant.ttl_seconds == 20
    assert grant.holder == "pytest"
    assert grant.metadata == {"purpose": "test"}
    assert grant.expires_at is not None and grant.expires_at > grant.acquired_at
    assert alice.state(lock_name).status == "held"

    assert alice.release(lock_name, grant.token) is True
    assert alice.state(lock_name).status == "free"
    # Repeating a release is harmless, and says that there was nothing left to release.
    assert alice.release(lock_name, grant.token) is False


def test_a_grant_never_shows_its_token(alice: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=10)
    try:
        assert grant.token and grant.token not in repr(grant) and grant.token not in str(grant)
    finally:
        alice.release(lock_name, grant.token)


def test_renew_extends_the_same_grant_and_keeps_its_fencing_token(alice: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=5)
    try:
        renewed = alice.renew(lock_name, grant.token, ttl=30)
        assert renewed.fencing_token == grant.fencing_token
        assert renewed.ttl_seconds == 30
        assert renewed.expires_at > grant.expires_at
    finally:
        alice.release(lock_name, grant.token)


def test_renew_after_release_raises_lock_lost(alice: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=10)
    alice.release(lock_name, grant.token)
    with pytest.raises(LockLost) as lost:
        alice.renew(lock_name, grant.token)
    assert lost.value.status == 409 and lost.value.code == "lock_lost"
    assert lost.value.problem_type == "urn:leasegate:problem:lock_lost"
    assert grant.token not in str(lost.value)


def test_each_grant_of_a_lock_has_a_larger_fencing_token(alice: Client, bob: Client, lock_name: str) -> None:
    tokens = []
    for client in (alice, bob, alice):
        grant = client.acquire(lock_name, ttl=10)
        tokens.append(grant.fencing_token)
        client.release(lock_name, grant.token)
    assert tokens == sorted(tokens) and len(set(tokens)) == 3


def test_a_held_lock_is_refused_at_once_with_the_holder_named(alice: Client, bob: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=30, holder="alice's job")
    try:
        with pytest.raises(LockHeld) as held:
            bob.acquire(lock_name, ttl=10)
        refusal = held.value
        assert refusal.status == 409 and refusal.code == "lock_held"
        assert refusal.holder == "alice's job"
        assert refusal.subject == "py-alice"
        assert refusal.holder_identity == "alice's job (py-alice)"
        assert refusal.expires_at is not None
        # Without a wait, Retry-After says when the hold ends.
        assert refusal.retry_after is not None and 0 < refusal.retry_after <= 35
        assert "held by alice's job (py-alice)" in str(refusal)
    finally:
        alice.release(lock_name, grant.token)


def test_the_same_idempotency_key_returns_the_same_grant(alice: Client, lock_name: str) -> None:
    first = alice.acquire(lock_name, ttl=10, idempotency_key="py-retry-1")
    try:
        again = alice.acquire(lock_name, ttl=10, idempotency_key="py-retry-1")
        assert (again.token, again.fencing_token) == (first.token, first.fencing_token)
    finally:
        alice.release(lock_name, first.token)


def test_state_of_a_lock_never_used_raises_lock_not_found(alice: Client, lock_name: str) -> None:
    with pytest.raises(LockNotFound) as missing:
        alice.state(lock_name)
    assert missing.value.status == 404


def test_an_admin_force_release_ends_the_grant_and_is_recorded(alice: Client, admin: Client, lock_name: str) -> None:
    grant = alice.acquire(lock_name, ttl=30)
    assert admin.force_release(lock_name) is True
    state = admin.state(lock_name)
    assert state.status == "free"
    assert state.forced_release is not None and state.forced_release["by"] == "ops"
    with pytest.raises(LockLost):
        alice.renew(lock_name, grant.token)
