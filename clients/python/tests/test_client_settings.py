"""A client refuses settings that would leak its JWT or lock tokens, and never shows them."""

from __future__ import annotations

import pytest

from leasegate import Client, lock

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJweSJ9.c2ln"


@pytest.mark.parametrize(
    "url",
    ["https://leasegate.example.com", "https://leasegate.example.com/prefix/", "http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:1", "http://[::1]:8080"],
)
def test_accepts_https_anywhere_and_plain_http_only_on_loopback(url: str) -> None:
    Client(url, token=JWT)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://leasegate.example.com", "must use https://"),
        ("http://10.0.0.1:8080", "must use https://"),
        ("http://[::ffff:127.0.0.1]", "must use https://"),
        ("http://localhost.example.com", "must use https://"),
        ("ftp://leasegate.example.com", "must be http(s)"),
        ("leasegate.example.com", "must be http(s)"),
        ("https://user:secret@leasegate.example.com", "must not contain credentials"),
        ("https://leasegate.example.com/?x=1", "must not have a query"),
        ("https://leasegate.example.com/#top", "must not have a query or fragment"),
        ("", "is required"),
    ],
)
def test_refuses_urls_that_would_send_secrets_in_clear_text_or_elsewhere(url: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule.replace("(", r"\(").replace(")", r"\)")) as refused:
        Client(url, token=JWT)
    assert "secret" not in str(refused.value)


def test_takes_exactly_one_of_a_token_and_a_token_provider() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Client("https://gw.example", token=JWT, token_provider=lambda: JWT)
    with pytest.raises(ValueError, match="exactly one"):
        Client("https://gw.example")


def test_refuses_a_token_that_cannot_be_a_header_without_repeating_it() -> None:
    with pytest.raises(ValueError) as refused:
        Client("https://gw.example", token="abc\r\nX-Injected: 1")
    assert "Injected" not in str(refused.value)


def test_shows_its_url_but_never_its_token() -> None:
    client = Client("https://gw.example/base/", token=JWT)
    assert repr(client) == "Client('https://gw.example/base')"
    assert JWT not in repr(client) and JWT not in str(vars(client))


@pytest.mark.parametrize(
    ("arguments", "rule"),
    [
        ({"ttl": 0}, "ttl must be"),
        ({"ttl": 1.5}, "ttl must be"),
        ({"ttl": True}, "ttl must be"),
        ({"wait": -1}, "wait must be"),
        ({"wait": float("nan")}, "wait must be"),
        ({"idempotency_key": "has space"}, "idempotency key"),
    ],
)
def test_lock_refuses_bad_arguments_before_sending_anything(arguments: dict, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        lock(Client("https://gw.invalid", token=JWT), "deploy-prod", **arguments)


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_lock_refuses_names_that_are_no_path_segment(name: str) -> None:
    with pytest.raises(ValueError):
        lock(Client("https://gw.invalid", token=JWT), name)
