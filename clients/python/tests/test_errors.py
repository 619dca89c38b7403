"""The gateway's refusals arrive as typed errors carrying the problem document, without secrets."""

from __future__ import annotations

import os

import pytest

from leasegate import Client, Forbidden, InvalidRequest, LeasegateError, NotFound, Unauthorized


def test_a_token_the_gateway_does_not_accept_raises_unauthorized(gateway_url: str, lock_name: str) -> None:
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJweS1hbGljZSJ9.Zm9yZ2Vk"
    with pytest.raises(Unauthorized) as refused:
        Client(gateway_url, token=forged).acquire(lock_name)
    error = refused.value
    assert isinstance(error, LeasegateError)
    assert (error.status, error.code, error.problem_type) == (401, "unauthenticated", "urn:leasegate:problem:unauthenticated")
    assert forged not in str(error)
    assert "did not accept the token" in str(error)


def test_an_identity_the_policy_does_not_allow_to_acquire_raises_forbidden(admin: Client, lock_name: str) -> None:
    with pytest.raises(Forbidden) as refused:
        admin.acquire(lock_name)
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert os.environ["LEASEGATE_TEST_ADMIN_TOKEN"] not in str(refused.value)


def test_a_request_the_gateway_refuses_raises_invalid_request_naming_the_rule(alice: Client, lock_name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        alice.acquire(lock_name, metadata={"no spaces allowed": "x"})
    error = refused.value
    assert (error.status, error.code) == (400, "invalid_request")
    assert error.errors and error.errors[0]["path"].startswith("json.metadata")
    assert "metadata keys" in str(error)


def test_a_bad_lock_name_is_the_gateways_to_refuse(alice: Client) -> None:
    with pytest.raises(InvalidRequest) as refused:
        alice.acquire("Not_A/Lease name")
    assert refused.value.errors[0]["path"].startswith("param")


def test_a_base_url_that_is_not_the_gateways_raises_not_found(gateway_url: str, lock_name: str) -> None:
    with pytest.raises(NotFound) as missing:
        Client(f"{gateway_url}/not-the-gateway", token=os.environ["LEASEGATE_TEST_TOKEN"]).acquire(lock_name)
    assert "base URL" in str(missing.value)
