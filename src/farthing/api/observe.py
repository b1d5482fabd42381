"""Every request observed once, outermost: a request id, its metrics, and one access line.

- **Request-Id**: the caller's (`Request-Id` or `X-Request-Id`, up to 64 of `A-Za-z0-9._-`) or a new
  `req_…` (this process's random prefix and a counter), echoed on the answer, so a caller's report and
  the server's log meet on it.
- **Metrics** (`farthing.api.metrics`): requests by method, route template and status, with latency;
  refusals by problem `code`; payments by outcome.
- **Access line** (`FARTHING_ACCESS_LOG=1`, off by default): one line per request as `farthing.access`
  (method, route template, never the path or its query string, status, milliseconds, request id, and
  the problem `code` of a refusal), in the shape of the other log lines (`AccessLog`). No header, body,
  key or personal data is ever in it.
- **Traces** (`FARTHING_OTEL`, off by default): an OpenTelemetry span per request (`farthing.api.traces`).

The problem `code` is read from the answer's own body, and only for a problem+json answer (errors are
small; a success is never read).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import secrets
import sys
import threading
import time
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farthing.api.metrics import HttpMetrics
from farthing.api.traces import Traces
from farthing.clock import system_clock

_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_PROBLEM = b"application/problem+json"
_PREFIX = b"req_" + secrets.token_hex(6).encode()
"""Request ids are this process's random prefix and a counter: unique, and cheaper than a random id each."""


def request_id(scope: Scope, serial: int) -> bytes:
    for name, value in scope["headers"]:
        if (name == b"request-id" or name == b"x-request-id") and _ID.match(value):
            return bytes(value)
    return b"%s%08x" % (_PREFIX, serial)


def route_of(scope: Scope) -> str:
    """The route's template (`/v1/payments/{payment_id}`), never the path itself: ids would make every
    request a label of its own. Lean routes have fixed paths; a request no route matched is `unmatched`."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is not None:
        return str(template)
    return str(scope["path"]) if scope.get("lean") else "unmatched"


class Observed:
    def __init__(
        self, app: ASGIApp, metrics: HttpMetrics, access: AccessLog | None, traces: Traces | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access
        self.traces = traces
        self._serial = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope, next(self._serial))
        span = self.traces.start(scope) if self.traces is not None else None
        status = 500
        problem: bytearray | None = None

        async def sending(message: Message) -> None:
            nonlocal status, problem
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if status >= 400 and any(k == b"content-type" and v.startswith(_PROBLEM) for k, v in headers):
                    problem = bytearray()
                headers.append((b"request-id", rid))
            elif problem is not None and message["type"] == "http.response.body":
                problem += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            code = _code(problem)
            self.metrics.observe(scope["method"], route, status, seconds, code)
            if self.access is not None:
                self.access.line(scope["method"], route, status, seconds, rid, code)
            if span is not None:
                Traces.end(span, scope["method"], route, status, rid, code)


def _code(problem: bytearray | None) -> str | None:
    if not problem:
        return None
    try:
        code = json.loads(problem).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


class AccessLog:
    """Access lines in the shape of every other log line (`farthing.cli.logs`: JSON, or `key=value` text
        with FARTHING_LOG_FORMAT=text), built directly and written to standard error in bulk by a thread of
        its own every `FLUSH_S`, and when the app shuts down (the lines of its last requests are not left to
    the interpreter's exit). Through the logging module a line cost a LogRecord, the
        formatter's processors and a flush each: a fifth of the server's throughput, measured."""

    FLUSH_S = 0.2

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._text = (os.environ.get("FARTHING_LOG_FORMAT") or ("text" if self._stream.isatty() else "json")) == "text"
        self._lines: list[str] = []
        self._writing = threading.Lock()
        """The flushing thread and the one at exit never write at once (their lines would interleave)."""
        self._second = -1
        self._stamp = ""
        threading.Thread(target=self._run, name="farthing-access-log", daemon=True).start()
        atexit.register(self.flush)  # and at exit too, should the app never have shut down

    def line(self, method: str, route: str, status: int, seconds: float, rid: bytes, code: str | None) -> None:
        now_ms = system_clock()  # the one wall clock (farthing.clock); a log line's time, not the ledger's
        second = now_ms // 1000
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        stamp = f"{self._stamp}.{now_ms % 1000:03d}Z"
        ms = round(seconds * 1000, 3)
        if self._text:
            self._lines.append(f"{stamp} [info] request [farthing.access] method={method} route={route} "
                               f"status={status} ms={ms} request_id={rid.decode()} code={code}\n")  # fmt: skip
            return
        # Method (an HTTP token), route (a template of ours), request id (checked) and code (an ErrorCode) hold
        # nothing JSON must escape; a code that is not an identifier is escaped anyway.
        quoted = "null" if code is None else f'"{code}"' if code.isidentifier() else json.dumps(code)
        self._lines.append(
            f'{{"timestamp": "{stamp}", "level": "info", "logger": "farthing.access", "event": "request", '
            f'"method": "{method}", "route": "{route}", "status": {status}, "ms": {ms}, '
            f'"request_id": "{rid.decode()}", "code": {quoted}}}\n'
        )

    def _run(self) -> None:
        while True:
            time.sleep(self.FLUSH_S)
            self.flush()

    @classmethod
    def if_asked(cls) -> AccessLog | None:
        """One access log when FARTHING_ACCESS_LOG=1 (off by default: a line per request costs)."""
        return cls() if os.environ.get("FARTHING_ACCESS_LOG") == "1" else None

    def flush(self) -> None:
        with self._writing:
            lines, self._lines = self._lines, []
            if lines:
                self._stream.write("".join(lines))
                self._stream.flush()
