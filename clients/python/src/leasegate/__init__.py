"""leasegate: distributed locks over HTTP with fencing tokens.

    from leasegate import Client, lock

    client = Client("https://leasegate.example.com", token=jwt)
    with lock(client, "deploy-prod", ttl=30, wait=300) as grant:
        deploy(fencing_token=grant.fencing_token)
"""

from ._version import __version__
from .client import Client, TokenProvider
from .errors import (
    GatewayUnreachable,
    InvalidRequest,
    InvalidResponse,
    LeasegateError,
    LeaseNotManaged,
    Forbidden,
    LockContended,
    LockHeld,
    LockLost,
    LockNotFound,
    NotFound,
    Unauthorized,
    Unavailable,
)
from .grant import Grant, LockState
from .lock import HeldLock, lock

__all__ = [
    "Client",
    "Forbidden",
    "GatewayUnreachable",
    "Grant",
    "HeldLock",
    "InvalidRequest",
    "InvalidResponse",
    "LeaseNotManaged",
    "LeasegateError",
    "LockContended",
    "LockHeld",
    "LockLost",
    "LockNotFound",
    "LockState",
    "NotFound",
    "TokenProvider",
    "Unauthorized",
    "Unavailable",
    "__version__",
    "lock",
]
