"""What the gateway answers: a grant (secret token included) and a lock's state (no secrets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

from ._display import display_text
from ._instant import parse_instant
from .errors import InvalidResponse


@dataclass(frozen=True)
class Grant:
    """One grant of a lock, as acquire and renew return it.

    ``fencing_token`` is strictly greater than every earlier grant's of this lock: pass it to the
    resource you protect, which keeps the highest it has seen and refuses smaller ones.
    ``token`` is the secret that renews and releases this grant; it is left out of ``repr``.
    """

    name: str
    fencing_token: int
    token: str = field(repr=False)
    ttl_seconds: int
    expires_at: Optional[datetime]
    acquired_at: Optional[datetime]
    renewed_at: Optional[datetime]
    holder: Optional[str]
    holder_identity: Optional[str]
    subject: Optional[str]
    namespace: Optional[str]
    lease: Optional[str]
    transitions: int
    metadata: Mapping[str, str] = field(hash=False)

    @classmethod
    def from_answer(cls, body: Any, operation: str) -> "Grant":
        if not isinstance(body, dict):
            raise InvalidResponse(f"{operation}: the gateway answered something that is not a grant")
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise InvalidResponse(f"{operation}: the gateway's grant has no lock token")
        ttl = body.get("ttlSeconds")
        if not _is_int(ttl) or ttl < 1:
            raise InvalidResponse(f"{operation}: the gateway's grant has no valid ttlSeconds ({display_text(ttl)})")
        return cls(
            name=_str(body.get("name")) or "",
            fencing_token=parse_fencing_token(body.get("fencingToken"), operation),
            token=token,
            ttl_seconds=ttl,
            expires_at=parse_instant(body.get("expiresAt")),
            acquired_at=parse_instant(body.get("acquiredAt")),
            renewed_at=parse_instant(body.get("renewedAt")),
            holder=_str(body.get("holder")),
            holder_identity=_str(body.get("holderIdentity")),
            subject=_str(body.get("subject")),
            namespace=_str(body.get("namespace")),
            lease=_str(body.get("lease")),
            transitions=body.get("transitions") if _is_int(body.get("transitions")) else 0,
            metadata=_metadata(body.get("metadata")),
        )


@dataclass(frozen=True)
class LockState:
    """A lock as ``GET /locks/{name}`` shows it: ``status`` is ``held``, ``expired`` or ``free``.

    ``fencing_token`` and ``subject`` are None while another Lease client (not a leasegate grant)
    holds it; ``forced_release`` is ``{"by", "issuer"?, "at"}`` after an admin's force release.
    """

    name: str
    status: str
    holder: Optional[str]
    holder_identity: Optional[str]
    subject: Optional[str]
    issuer: Optional[str]
    fencing_token: Optional[int]
    acquired_at: Optional[datetime]
    renewed_at: Optional[datetime]
    expires_at: Optional[datetime]
    ttl_seconds: int
    transitions: int
    metadata: Mapping[str, str] = field(hash=False)
    namespace: Optional[str] = None
    forced_release: Optional[Mapping[str, Any]] = field(default=None, hash=False)

    @classmethod
    def from_answer(cls, body: Any, operation: str) -> "LockState":
        if not isinstance(body, dict) or body.get("status") not in ("held", "expired", "free"):
            raise InvalidResponse(f"{operation}: the gateway answered something that is not a lock state")
        fencing = body.get("fencingToken")
        forced = body.get("forcedRelease")
        return cls(
            name=_str(body.get("name")) or "",
            status=body["status"],
            holder=_str(body.get("holder")),
            holder_identity=_str(body.get("holderIdentity")),
            subject=_str(body.get("subject")),
            issuer=_str(body.get("issuer")),
            fencing_token=None if fencing is None else parse_fencing_token(fencing, operation),
            acquired_at=parse_instant(body.get("acquiredAt")),
            renewed_at=parse_instant(body.get("renewedAt")),
            expires_at=parse_instant(body.get("expiresAt")),
            ttl_seconds=body.get("ttlSeconds") if _is_int(body.get("ttlSeconds")) else 0,
            transitions=body.get("transitions") if _is_int(body.get("transitions")) else 0,
            metadata=_metadata(body.get("metadata")),
            namespace=_str(body.get("namespace")),
            forced_release=dict(forced) if isinstance(forced, dict) else None,
        )


def parse_fencing_token(value: Any, operation: str) -> int:
    """Fencing tokens travel as decimal strings (they can exceed 2**53); here they are ints."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 40:
        return int(value)
    raise InvalidResponse(f"{operation}: the gateway's fencing token is not a decimal number ({display_text(value)})")


def _metadata(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
