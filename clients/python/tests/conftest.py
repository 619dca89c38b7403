"""Fixtures: clients of the real gateway the test harness started (test/python/python-client.test.ts).

The harness passes the gateway's URL, JWTs for three callers allowed to lock (alice, bob, carol)
and one operator allowed to force-release (admin), and a lock-name prefix of its own.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Iterator

import pytest

from leasegate import Client
from fake_gateway import FakeGateway


def _setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run these tests with `npm test -- test/python`, which starts a gateway")
    return value


@pytest.fixture(scope="session")
def gateway_url() -> str:
    return _setting("LEASEGATE_URL")


@pytest.fixture
def alice(gateway_url: str) -> Client:
    return Client(gateway_url, token=_setting("LEASEGATE_TEST_TOKEN"))


@pytest.fixture
def bob(gateway_url: str) -> Client:
    return Client(gateway_url, token=_setting("LEASEGATE_TEST_TOKEN_2"))


@pytest.fixture
def carol(gateway_url: str) -> Client:
    return Client(gateway_url, token=_setting("LEASEGATE_TEST_TOKEN_3"))


@pytest.fixture
def admin(gateway_url: str) -> Client:
    """May force-release and read every lock, but not acquire one."""
    return Client(gateway_url, token=_setting("LEASEGATE_TEST_ADMIN_TOKEN"))


@pytest.fixture(scope="session")
def max_wait_seconds() -> int:
    """The gateway's maxWaitSeconds: one waiting request lasts at most this long."""
    return int(_setting("LEASEGATE_TEST_MAX_WAIT_SECONDS"))


@pytest.fixture
def lock_name(request: pytest.FixtureRequest) -> str:
    """A lock of this test's own: the harness's prefix, the test's name and a random suffix."""
    prefix = os.environ.get("LEASEGATE_TEST_LOCK_PREFIX", "py-")
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return f"{prefix}{test}-{secrets.token_hex(3)}"


@pytest.fixture
def fake_gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway
