"""Refuse bodies that are too large, and API bodies that are not JSON, before any route reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from farthing import limits
from farthing.api import problems
from farthing.errors import ErrorCode

XML_ROUTES = {path: (b"application/xml", b"text/xml") for path in ("/v1/payout_reports", "/v1/payout_returns")}
XML_ROUTES["/v1/bank_statements"] = (b"application/xml", b"text/xml", b"text/csv")
"""The routes that read a bank's files (XML, and for statements CSV too) rather than JSON."""


class BodyGuard:
    """Pure ASGI middleware: refuse bodies that are too large or not JSON before any route reads them.

    (Starlette's BaseHTTPMiddleware would cost every request an extra task and stream copy.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
            refusal = None
            if length is not None and (not length.isdigit() or int(length) > limits.request_bytes_max):
                refusal = problems.problem(
                    ErrorCode.request_too_large, f"request bodies are limited to {limits.request_bytes_max} bytes"
                )
            elif has_body and scope["path"].startswith("/v1/"):  # the pages (`farthing.web`) read their own forms
                kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
                wanted = XML_ROUTES.get(scope["path"], (b"application/json",))
                if kind not in wanted:
                    said = " or ".join(w.decode() for w in wanted)
                    refusal = problems.problem(ErrorCode.unsupported_media_type, f"send the body as {said}")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
