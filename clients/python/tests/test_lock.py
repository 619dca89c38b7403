"""`with lock(...)`: held and renewed inside the block, released whatever way the block ends."""

from __future__ import annotations

import sys
import time

import pytest

from leasegate import Client, HeldLock, LockHeld, LockLost, lock


def test_holds_the_lock_inside_the_block_and_releases_it_after(alice: Client, bob: Client, lock_name: str) -> None:
    with lock(alice, lock_name, ttl=30, holder="deployer") as grant:
        assert isinstance(grant, HeldLock)
        assert isinstance(grant.fencing_token, int)
        state = bob.state(lock_name)
        assert (state.status, state.holder, state.fencing_token) == ("held", "deployer", grant.fencing_token)
        assert not grant.lost.is_set()
    assert grant.released is True
    assert bob.state(lock_name).status == "free"


def test_never_shows_the_lock_token(alice: Client, lock_name: str) -> None:
    with lock(alice, lock_name, ttl=10) as grant:
        assert grant.token and grant.token not in repr(grant) and grant.token not in str(grant)
        assert grant.token not in repr(grant.grant)


def test_releases_when_the_block_raises_and_lets_the_exception_through(alice: Client, bob: Client, lock_name: str) -> None:
    failure = RuntimeError("deploy failed")
    with pytest.raises(RuntimeError) as raised:
        with lock(alice, lock_name, ttl=30) as grant:
            raise failure
    assert raised.value is failure
    assert grant.released is True
    assert bob.state(lock_name).status == "free"
    # Free for someone else at once, not after the TTL.
    with lock(bob, lock_name, ttl=10):
        pass


def test_refuses_at_once_while_another_caller_holds_the_lock(alice: Client, bob: Client, lock_name: str) -> None:
    with lock(alice, lock_name, ttl=30, holder="alice"):
        started = time.monotonic()
        with pytest.raises(LockHeld) as held:
            with lock(bob, lock_name, ttl=10):
                pytest.fail("the block ran without the lock")
        assert time.monotonic() - started < 5
        assert held.value.holder == "alice"


def test_renews_in_the_background_for_longer_than_the_ttl(alice: Client, bob: Client, lock_name: str) -> None:
    with lock(alice, lock_name, ttl=3) as grant:
        time.sleep(4.5)
        assert not grant.lost.is_set(), grant.lost_reason
        assert grant.renewals >= 3
        state = bob.state(lock_name)
        assert (state.status, state.fencing_token) == ("held", grant.fencing_token)
        assert grant.grant.expires_at > grant.grant.acquired_at
    assert grant.released is True


def test_sets_lost_within_one_renew_interval_when_an_admin_force_releases(alice: Client, admin: Client, lock_name: str) -> None:
    ttl = 6
    renew_interval = ttl / 3
    with pytest.raises(LockLost) as lost_at_exit:
        with lock(alice, lock_name, ttl=ttl) as grant:
            forced_at = time.monotonic()
            assert admin.force_release(lock_name) is True
            assert grant.lost.wait(timeout=ttl), "lost was never set"
            noticed_after = time.monotonic() - forced_at
            # The next renewal (plus its round trip) tells, long before the grant would expire.
            assert noticed_after < renew_interval + 1.5 < ttl, f"noticed after {noticed_after:.2f} s"
            assert "renewal refused" in grant.lost_reason and "lock_lost" in grant.lost_reason
            with pytest.raises(LockLost):
                grant.ensure_held()
    # A block that went on as if nothing happened learns it at the end.
    assert "while the block ran" in str(lost_at_exit.value)
    assert grant.released is False


def test_leaves_a_lost_lock_to_the_blocks_own_checks_when_asked(alice: Client, admin: Client, lock_name: str) -> None:
    with lock(alice, lock_name, ttl=3, raise_if_lost=False) as grant:
        admin.force_release(lock_name)
        assert grant.lost.wait(timeout=3)
    assert grant.lost.is_set()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes arrived in Python 3.11")
def test_a_block_that_raised_keeps_its_exception_with_a_note_that_the_lock_was_lost(alice: Client, admin: Client, lock_name: str) -> None:
    with pytest.raises(KeyError) as raised:
        with lock(alice, lock_name, ttl=3) as grant:
            admin.force_release(lock_name)
            grant.lost.wait(timeout=3)
            raise KeyError("mine")
    assert any("lost" in note for note in raised.value.__notes__)


def test_can_be_entered_only_once(alice: Client, lock_name: str) -> None:
    held = lock(alice, lock_name, ttl=10)
    with held:
        pass
    with pytest.raises(RuntimeError, match="only once"):
        with held:
            pass
