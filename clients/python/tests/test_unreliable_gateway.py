"""Behaviour the real gateway cannot be made to show on cue, against a scripted stand-in: 503s,
renewals that fail or hang, a gateway that keeps a queue, hostile text, redirects, garbage."""

from __future__ import annotations

import re
import socket
import time

import pytest

from fake_gateway import JWT, LOCK_TOKEN, Answer, FakeGateway, grant, problem
from leasegate import Client, GatewayUnreachable, InvalidResponse, LockHeld, Unavailable, lock

NAME = "fake-lock"
ACQUIRE = f"/locks/{NAME}/acquire"
RENEW = f"/locks/{NAME}/renew"
RELEASE = f"/locks/{NAME}/release"
LEAVE = f"/locks/{NAME}/leave"
UNSHOWABLE = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def client_of(fake: FakeGateway) -> Client:
    return Client(fake.url, token=JWT)


def test_retries_a_503_after_its_retry_after_with_the_same_key_and_renews_a_possible_replay_at_once(fake_gateway: FakeGateway) -> None:
    fake_gateway.script("POST", ACQUIRE, problem(503, "backend_unavailable", retry_after=1), Answer(body=grant(ttl=30)))
    fake_gateway.script("POST", RENEW, Answer(body=grant(ttl=30)))
    fake_gateway.script("POST", RELEASE, Answer(body={"released": True}))
    with lock(client_of(fake_gateway), NAME, ttl=30) as held:
        time.sleep(0.5)
        assert held.renewals >= 1
    first, second = fake_gateway.requests_to("POST", ACQUIRE)
    assert second.at - first.at >= 1.0
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    # The 503 may have hidden a grant that landed: the one returned may be older than it looks.
    (renewal, *_) = fake_gateway.requests_to("POST", RENEW)
    assert renewal.at - second.at < 0.5
    assert renewal.body == {"token": LOCK_TOKEN, "ttlSeconds": 30}
    assert fake_gateway.requests_to("POST", RELEASE)[0].body == {"token": LOCK_TOKEN}


def test_a_grant_that_ends_a_long_wait_is_dated_from_its_answer_not_from_the_request(fake_gateway: FakeGateway) -> None:
    # The gateway answers a waiting request the moment it grants: after 3 s of waiting, a 2 s
    # grant is new, not expired.
    fake_gateway.script("POST", ACQUIRE, Answer(body=grant(ttl=2), delay=3))
    fake_gateway.script("POST", RENEW, Answer(body=grant(ttl=2)))
    fake_gateway.script("POST", RELEASE, Answer(body={"released": True}))
    with lock(client_of(fake_gateway), NAME, ttl=2, wait=10) as held:
        answered_at = time.monotonic()
        assert not held.lost.wait(timeout=1.5), held.lost_reason
        # Renewed at once, which replaces the estimate of when the grant began with a measurement.
        (first_renewal, *_) = fake_gateway.requests_to("POST", RENEW)
        assert first_renewal.at - answered_at < 0.3
    assert held.released is True


def test_sets_lost_when_no_renewal_succeeds_before_the_grant_expires(fake_gateway: FakeGateway) -> None:
    fake_gateway.script("POST", ACQUIRE, Answer(body=grant(ttl=2)))
    fake_gateway.script("POST", RENEW, problem(503, "backend_unavailable"))
    fake_gateway.script("POST", RELEASE, problem(503, "backend_unavailable"))
    with lock(client_of(fake_gateway), NAME, ttl=2, raise_if_lost=False) as held:
        acquired_at = fake_gateway.requests_to("POST", ACQUIRE)[0].at
        assert held.lost.wait(timeout=5)
        lost_after = time.monotonic() - acquired_at
    assert 1.9 <= lost_after < 2.5
    assert "no renewal succeeded before the grant expired" in held.lost_reason
    assert len(fake_gateway.requests_to("POST", RENEW)) >= 2
    # Release was tried, failed, and the block still ended normally.
    assert held.released is None


def test_sets_lost_on_time_even_while_a_renewal_hangs(fake_gateway: FakeGateway) -> None:
    fake_gateway.script("POST", ACQUIRE, Answer(body=grant(ttl=2)))
    fake_gateway.script("POST", RENEW, Answer(body=grant(ttl=2), delay=30))
    fake_gateway.script("POST", RELEASE, Answer(body={"released": False}))
    with lock(client_of(fake_gateway), NAME, ttl=2, raise_if_lost=False) as held:
        acquired_at = fake_gateway.requests_to("POST", ACQUIRE)[0].at
        assert held.lost.wait(timeout=5)
        assert time.monotonic() - acquired_at < 2.5


def test_keeps_its_place_with_one_key_and_leaves_the_queue_when_the_wait_ends(fake_gateway: FakeGateway) -> None:
    # Each wait ends (after a moment) with the queue position, and "call again now".
    held_after_wait = problem(409, "lock_held", retry_after=0, holder="h", position=2, waiters=3, ticket="t-9")
    held_after_wait.delay = 0.5
    fake_gateway.script("POST", ACQUIRE, held_after_wait)
    fake_gateway.script("POST", LEAVE, Answer(body={"left": True}))
    with pytest.raises(LockHeld) as held:
        with lock(client_of(fake_gateway), NAME, ttl=10, wait=2):
            pytest.fail("the block ran without the lock")
    assert (held.value.position, held.value.waiters, held.value.ticket) == (2, 3, "t-9")
    assert "position 2 of 3 in the queue" in str(held.value)
    attempts = fake_gateway.requests_to("POST", ACQUIRE)
    keys = {attempt.headers["idempotency-key"] for attempt in attempts}
    assert len(attempts) >= 2 and len(keys) == 1
    # Whole seconds, never beyond what is left of the wait (the last moments ask without waiting).
    assert attempts[0].body["waitSeconds"] == 2
    assert all(attempt.body.get("waitSeconds", 0) <= 1 for attempt in attempts[1:])
    (leave,) = fake_gateway.requests_to("POST", LEAVE)
    assert leave.headers["idempotency-key"] in keys and leave.body == {}


def test_is_not_driven_into_a_tight_loop_by_a_gateway_that_ends_every_wait_at_once(fake_gateway: FakeGateway) -> None:
    fake_gateway.script("POST", ACQUIRE, problem(409, "lock_held", retry_after=0))
    with pytest.raises(LockHeld):
        with lock(client_of(fake_gateway), NAME, ttl=10, wait=2):
            pass
    # A tight loop would send hundreds in those 2 s; backing off sends a handful.
    assert len(fake_gateway.requests_to("POST", ACQUIRE)) <= 30


def test_escapes_what_a_hostile_gateway_says_in_messages_but_keeps_it_raw_in_fields(fake_gateway: FakeGateway) -> None:
    hostile = "x\n::add-mask::decoy\x1b[2J\x07\u202egnp.exe\u0085 ##[set-output name=a]b\r::error::fake"
    fake_gateway.script("POST", ACQUIRE, problem(409, "lock_held", holder=hostile, subject="s\u2028u", detail=hostile, retry_after=5))
    with pytest.raises(LockHeld) as held:
        client_of(fake_gateway).acquire(NAME)
    message = str(held.value)
    assert not UNSHOWABLE.search(message)
    assert "##[" not in message and "\\x1b" in message and "\\u{202e}" in message
    assert held.value.holder == hostile


def test_does_not_follow_a_redirect_that_would_take_the_token_elsewhere(fake_gateway: FakeGateway) -> None:
    with FakeGateway() as elsewhere:
        fake_gateway.script("POST", ACQUIRE, Answer(307, {}, {"Location": f"{elsewhere.url}{ACQUIRE}"}))
        with pytest.raises(InvalidResponse, match="redirect"):
            client_of(fake_gateway).acquire(NAME)
        assert elsewhere.seen == []


def test_a_proxys_error_page_is_unavailable_and_garbage_is_an_invalid_response(fake_gateway: FakeGateway) -> None:
    fake_gateway.script("POST", ACQUIRE, Answer(502, raw=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(Unavailable) as unavailable:
        client_of(fake_gateway).acquire(NAME)
    assert unavailable.value.code == "http_502"
    fake_gateway.script("POST", ACQUIRE, Answer(200, raw=b"not json"))
    with pytest.raises(InvalidResponse):
        client_of(fake_gateway).acquire(NAME)
    fake_gateway.script("POST", ACQUIRE, Answer(body={**grant(), "fencingToken": "-1"}))
    with pytest.raises(InvalidResponse, match="fencing token"):
        client_of(fake_gateway).acquire(NAME)


def test_asks_the_token_provider_before_every_request(fake_gateway: FakeGateway) -> None:
    issued = iter(f"{JWT}{n}" for n in range(100))
    fake_gateway.script("POST", ACQUIRE, Answer(body=grant()))
    fake_gateway.script("POST", RELEASE, Answer(body={"released": True}))
    client = Client(fake_gateway.url, token_provider=lambda: next(issued))
    grant_ = client.acquire(NAME)
    client.release(NAME, grant_.token)
    assert [s.headers["authorization"] for s in fake_gateway.seen] == [f"Bearer {JWT}0", f"Bearer {JWT}1"]


def test_no_answer_at_all_is_gateway_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GatewayUnreachable, match="connection refused") as unreachable:
        Client(f"http://127.0.0.1:{port}", token=JWT).acquire(NAME)
    assert isinstance(unreachable.value, Unavailable) and unreachable.value.status is None
