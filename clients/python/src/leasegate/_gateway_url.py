"""The gateway's base URL, checked once when a client is made."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit


class GatewayUrl(NamedTuple):
    scheme: str
    host: str
    port: int
    #: Path prefix without a trailing slash ("" for a gateway at the root).
    base_path: str

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def parse_gateway_url(raw: str) -> GatewayUrl:
    """Requests carry JWTs and lock tokens: https, or plain http only to this machine
    (127.0.0.0/8, ::1, localhost). Raises ValueError naming the rule that was broken."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("base_url is required, e.g. https://leasegate.example.com")
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError as err:
        raise ValueError(f"base_url is not a valid URL ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValueError(f"base_url must be http(s), not {scheme or 'a relative URL'}")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("base_url has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("base_url must not contain credentials")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not have a query or fragment")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(
            "base_url must use https:// (plain http:// only for loopback: 127.0.0.0/8, [::1], localhost), "
            f"not http://{parts.netloc.rsplit('@', 1)[-1]}"
        )
    return GatewayUrl(scheme, host, port or (443 if scheme == "https" else 80), parts.path.rstrip("/"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # Exactly 127.0.0.0/8 and ::1: other spellings (IPv4-mapped IPv6) are refused, not guessed at.
    return address.version == 4 and address in ipaddress.ip_network("127.0.0.0/8") or str(address) == "::1"
