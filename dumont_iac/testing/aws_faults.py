"""An HTTP proxy in front of moto's server that fails chosen AWS calls on purpose.

moto answers every call it serves successfully: it never runs out of spot capacity and never
throttles. A provider runs in its own process, so faults cannot be hooked into its boto3
client; point its ``AWS_ENDPOINT_URL`` at this proxy instead::

    with AwsFaults(world.aws.url) as faults:
        faults.fail("RunInstances", "InsufficientInstanceCapacity", status=500, times=6)
        env = {"AWS_ENDPOINT_URL": faults.url}

Everything not armed is forwarded to moto unchanged. A failure is answered as the service
answers (EC2's or S3's XML error body, and the HTTP status), so botocore parses, retries and
raises it as it would a real one. S3 calls are named by their REST shape (``CreateBucket``,
``HeadBucket``, ``PutBucketTagging``, ``PutBucketLifecycleConfiguration``).
``on(action, callback)`` runs a callback when a call arrives, before it is forwarded (to stop
another service at that moment).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


@dataclass
class _Fault:
    action: str
    code: str
    message: str
    status: int
    times: int


class AwsFaults:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._faults: list[_Fault] = []
        self._callbacks: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self.calls: list[str] = []
        """Every action seen, in order (failed ones too)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AwsFaults:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(
        self, action: str, code: str, *, status: int = 400, times: int = 1, message: str = ""
    ) -> None:
        """Answer the next ``times`` calls of ``action`` with EC2's error ``code``."""
        with self._lock:
            self._faults.append(_Fault(action, code, message or code, status, times))

    def on(self, action: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, when the next ``action`` arrives, before it is forwarded."""
        with self._lock:
            self._callbacks.setdefault(action, []).append(callback)

    def count(self, action: str) -> int:
        return self.calls.count(action)

    def _take_fault(self, action: str) -> _Fault | None:
        with self._lock:
            self.calls.append(action)
            for fault in self._faults:
                if fault.action == action and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _take_callbacks(self, action: str) -> list[Callable[[], None]]:
        with self._lock:
            return self._callbacks.pop(action, [])


# S3's bucket calls by (method, query): REST paths name no action.
_S3_BUCKET_CALLS = {
    ("PUT", ""): "CreateBucket",
    ("HEAD", ""): "HeadBucket",
    ("PUT", "tagging"): "PutBucketTagging",
    ("PUT", "lifecycle"): "PutBucketLifecycleConfiguration",
}
S3_ACTIONS = frozenset(_S3_BUCKET_CALLS.values())


def _action_of(method: str, path: str, body: bytes, headers: Any) -> str:
    """EC2, SSM and S3 name the call differently: a form field, the X-Amz-Target header, or
    the method and path of a bucket (path-style, as boto3 addresses an IP endpoint)."""
    target = headers.get("X-Amz-Target") or ""
    if target:
        return str(target).rsplit(".", 1)[-1]
    fields = parse_qs(body.decode("utf-8", "replace"))
    if "Action" in fields:
        return fields["Action"][0]
    parts = urlsplit(path)
    if parts.path.strip("/") and "/" not in parts.path.strip("/"):  # a bucket, not an object
        query = parts.query.split("=", 1)[0]
        return _S3_BUCKET_CALLS.get((method, query), "")
    return ""


def _error_body(fault: _Fault) -> bytes:
    if fault.action in S3_ACTIONS:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{fault.code}</Code><Message>{fault.message}</Message>"
            "<RequestId>0000000000000000</RequestId></Error>"
        ).encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{fault.code}</Code><Message>{fault.message}</Message>"
        "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID>"
        "</Response>"
    ).encode()


def _handler(faults: AwsFaults) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            action = _action_of(self.command, self.path, body, self.headers)
            for callback in faults._take_callbacks(action):
                callback()
            fault = faults._take_fault(action)
            if fault is not None:
                error = _error_body(fault) if self.command != "HEAD" else b""
                self._answer(fault.status, {"Content-Type": "text/xml"}, error)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = httpx.request(
                self.command, faults.upstream + self.path, headers=headers, content=body,
                timeout=30.0,
            )  # fmt: skip
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS
                    and k.lower() != "content-encoding"}  # fmt: skip
            self._answer(answer.status_code, kept, answer.content)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
