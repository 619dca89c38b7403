"""A scripted stand-in for the gateway on loopback, for what the real one cannot be made to do on
cue: answer 503s, hang, send hostile text, redirect. Each route answers from its script in order
(the last answer repeats) and every request is recorded."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJweS10ZXN0In0.c2lnbmF0dXJl"
LOCK_TOKEN = "lg2.41.c2VjcmV0LWxvY2stdG9rZW4tdGhhdC1tdXN0LW5vdC1sZWFr"


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to hold the request before answering (cut short when the fake stops).
    delay: float = 0.0
    #: Raw bytes instead of JSON.
    raw: Optional[bytes] = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


def grant(name: str = "fake-lock", ttl: int = 30, fencing_token: str = "41", **extra: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    return {
        "name": name, "namespace": "ns", "lease": name, "holder": "fake", "holderIdentity": "fake (py-test)",
        "subject": "py-test", "token": LOCK_TOKEN, "fencingToken": fencing_token, "acquiredAt": iso(now),
        "renewedAt": iso(now), "expiresAt": iso(now + timedelta(seconds=ttl)), "ttlSeconds": ttl,
        "transitions": 0, "metadata": {}, **extra,
    }


def problem(status: int, code: str, **extra: Any) -> Answer:
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else {}
    body = {"type": f"urn:leasegate:problem:{code}", "code": code, "title": code, "status": status, **extra}
    return Answer(status, body, {"Content-Type": "application/problem+json", **headers})


class FakeGateway:
    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                script = fake.scripts.get((self.command, self.path))
                if not script:
                    answer = problem(404, "not_found")
                else:
                    answer = script.pop(0) if len(script) > 1 else script[0]
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self.scripts[(method, path)] = list(answers)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def __enter__(self) -> "FakeGateway":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
